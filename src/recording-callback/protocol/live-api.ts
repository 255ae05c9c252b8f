import { createHash } from 'node:crypto';

// Huawei Live's management API (v1), the two read-only endpoints reconciliation and the configuration
// check use. Field names as Huawei's public SDK models give them (RecordContentInfoV2,
// ListRecordCallbackConfigs); nothing here was checked against the live service.

/**
 * Where a recorded file lies in OBS (`RecordObsFileAddr`).
 *
 * @example
 * { bucket: 'rec-bucket', location: 'cn-north-4', object: 'record/live/s1/2026-12-05-10-00-00.m3u8' }
 */
export interface RecordObsAddress {
  bucket?: string;
  location?: string;
  object?: string;
}

/**
 * One item of ListRecordContents (`GET /v1/{project_id}/record/contents`): a recorded file. It names
 * no task_id or job_id, so it is matched to stored files by its URL, OBS object and times.
 *
 * @example
 * { publish_domain: 'push.example.com', app: 'live', stream: 's1', record_format: 'HLS',
 *   download_url: 'https://…/s1.m3u8', start_time: '2026-12-05T10:00:00Z', end_time: '2026-12-05T10:30:00Z', duration: 1800 }
 */
export interface RecordContentItem {
  publish_domain: string;
  app: string;
  stream: string;
  file_name?: string;
  record_format: string;
  record_type?: string;
  obs_addr?: RecordObsAddress;
  vod_info?: Record<string, unknown>;
  download_url?: string;
  /** `yyyy-mm-ddThh:mm:ssZ`, UTC. */
  start_time?: string;
  /** `yyyy-mm-ddThh:mm:ssZ`, UTC. */
  end_time?: string;
  /** Seconds. */
  duration?: number;
}

/**
 * One page of ListRecordContents.
 *
 * @example
 * { total: 250, record_contents: [item, …] }
 */
export interface RecordContentsPage {
  total: number;
  record_contents: RecordContentItem[];
}

/**
 * Events a recording callback template can subscribe to (`notify_event_subscription`). Huawei's enum
 * has no RECORD_START; a template created without the field subscribes to RECORD_FILE_COMPLETE only.
 */
export const SUBSCRIBABLE_EVENTS = [
  'RECORD_NEW_FILE_START',
  'RECORD_FILE_COMPLETE',
  'RECORD_OVER',
  'RECORD_FAILED',
] as const;

/**
 * One recording callback configuration (ListRecordCallbackConfigs, `GET /v1/{project_id}/record/callbacks`).
 *
 * @example
 * { id: 'c1', publish_domain: 'push.example.com', app: '*', notify_callback_url: 'https://app/recording-callbacks',
 *   notify_event_subscription: ['RECORD_FILE_COMPLETE'], sign_type: 'HMACSHA256' }
 */
export interface RecordCallbackConfig {
  id?: string;
  publish_domain: string;
  /** `*` stands for every app of the domain. */
  app?: string;
  notify_callback_url?: string;
  notify_event_subscription?: string[];
  sign_type?: string;
  create_time?: string;
  update_time?: string;
}

/**
 * The answer of ListRecordCallbackConfigs.
 *
 * @example
 * { total: 1, callback_config: [config] }
 */
export interface RecordCallbackConfigsPage {
  total: number;
  callback_config: RecordCallbackConfig[];
}

/**
 * The identity of a recorded file independent of task and job ids: SHA-256 (hex) of its download URL,
 * or of its OBS bucket and object when there is no URL; null when it has neither. A listing item and
 * the RECORD_FILE_COMPLETE callback of the same file give the same key (both carry `download_url`).
 *
 * @example
 * recoveryKeyOf({ download_url: 'https://b.obs/x.m3u8' }) === recoveryKeyOf(fileCompleteDto); // true
 */
export function recoveryKeyOf(file: {
  download_url?: string | null;
  obs_addr?: RecordObsAddress;
  obs_bucket?: string | null;
  obs_object?: string | null;
}): string | null {
  const url = file.download_url ?? '';
  const bucket = file.obs_addr?.bucket ?? file.obs_bucket ?? '';
  const object = file.obs_addr?.object ?? file.obs_object ?? '';
  const identity = url !== '' ? `url:${url}` : object !== '' ? `obs:${bucket}/${object}` : null;
  return identity === null ? null : createHash('sha256').update(identity, 'utf8').digest('hex');
}
