import { writeFileSync } from 'node:fs';
import type { Body } from './options';

/**
 * The files a run recorded, as Huawei Live's ListRecordContents would list them (for `--listing FILE`,
 * which the fake Live API of `npm run fake-huawei-live -- --contents FILE` serves). Every
 * RECORD_FILE_COMPLETE becomes one item, whether its callback was sent or lost.
 */
export function listingItem(body: Body): Record<string, unknown> {
  const url = new URL(String(body.download_url));
  return {
    publish_domain: body.publish_domain,
    app: body.app,
    stream: body.stream,
    record_format: body.record_format,
    record_type: 'CONTINUOUS_RECORD',
    file_name: decodeURIComponent(url.pathname.split('/').pop() ?? ''),
    obs_addr: { bucket: body.obs_bucket ?? 'record-bucket', location: 'cn-north-4', object: url.pathname.slice(1) },
    download_url: body.download_url,
    start_time: body.start_time,
    end_time: body.end_time,
    duration: body.record_duration,
  };
}

/** Writes the listing as one JSON array (read again by the fake API on every request). */
export function writeListing(file: string | undefined, items: Array<Record<string, unknown>>): void {
  if (file) writeFileSync(file, `${JSON.stringify(items, null, 2)}\n`);
}
