import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRecordingCallback } from '../protocol/parse-callback';
import { verifySignature } from '../protocol/signature';
import {
  RecordFormat,
  RecordingEventType,
  buildRecordFailed,
  buildRecordFileComplete,
  buildRecordNewFileStart,
  buildRecordOver,
  buildRecordStart,
  buildRecordingLifecycle,
  huaweiTime,
  signRecordingCallback,
} from './index';
import type { SignatureAlgorithm } from './index';

const KEY = 'Kx7Qm2Lp9Vt4Rz8Wb3Nc6Hd1Fg5Js0Ya';
const OTHER_KEY = 'r0tat3dKeyAbCdEf9876543210ZyXwVuTsRq';
const NOW_MS = 1_700_000_000_123;

function expectValid(body: unknown): void {
  const parsed = parseRecordingCallback(body);
  if (!parsed.ok) throw new Error(`invalid: ${JSON.stringify(parsed.fields)}`);
}

describe('signRecordingCallback', () => {
  it('reproduces every shared Huawei test vector', () => {
    const { vectors } = JSON.parse(
      readFileSync(join(process.cwd(), 'test/fixtures/huawei-live-recording-signatures.json'), 'utf8'),
    ) as {
      vectors: Array<{ algorithm: SignatureAlgorithm; key: string; body: Record<string, unknown>; auth_sign: string }>;
    };
    expect(vectors.length).toBeGreaterThan(1);
    for (const v of vectors) {
      const signed = signRecordingCallback(v.body, {
        algorithm: v.algorithm,
        key: v.key,
        timestamp: Number(v.body.auth_timestamp),
      });
      expect(signed.auth_sign).toBe(v.auth_sign);
    }
  });

  it('signs HMACSHA256 over timestamp + routing fields + download_url, as Huawei documents', () => {
    const body = buildRecordFileComplete({ task_id: 't1' });
    const signed = signRecordingCallback(body, { key: KEY, now: () => NOW_MS, expiresInSeconds: 60 });
    expect(signed.auth_timestamp).toBe(1_700_000_060);
    const text = `1700000060RECORD_FILE_COMPLETE${body.publish_domain}${body.app}${body.stream}${body.download_url}`;
    expect(signed.auth_sign).toBe(createHmac('sha256', KEY).update(text).digest('hex'));
    expect(verifySignature('HMACSHA256', signed, signed.auth_sign, [KEY])).toBe(true);
    expect(verifySignature('HMACSHA256', signed, signed.auth_sign, [OTHER_KEY])).toBe(false);
  });

  it('signs MD5 as MD5(key + auth_timestamp)', () => {
    const signed = signRecordingCallback(buildRecordStart(), { key: KEY, algorithm: 'MD5', now: () => NOW_MS });
    expect(signed.auth_timestamp).toBe(1_700_000_000);
    expect(signed.auth_sign).toBe(createHash('md5').update(`${KEY}1700000000`).digest('hex'));
  });

  it('uses the send time by default, an exact timestamp when given, and a past one for expiry tests', () => {
    const body = buildRecordStart();
    expect(signRecordingCallback(body, { key: KEY, now: () => NOW_MS }).auth_timestamp).toBe(1_700_000_000);
    expect(signRecordingCallback(body, { key: KEY, now: () => NOW_MS, expiresInSeconds: -3600 }).auth_timestamp).toBe(
      1_699_996_400,
    );
    expect(signRecordingCallback(body, { key: KEY, timestamp: 42, expiresInSeconds: 10 }).auth_timestamp).toBe(42);
    const t = Math.floor(Date.now() / 1000);
    const fresh = signRecordingCallback(body, { key: KEY }).auth_timestamp;
    expect(fresh).toBeGreaterThanOrEqual(t);
    expect(fresh).toBeLessThanOrEqual(t + 1);
  });

  it('replaces an earlier signature and leaves the input untouched', () => {
    const body = buildRecordOver({ task_id: 't2' });
    const once = signRecordingCallback(body, { key: OTHER_KEY, timestamp: 1 });
    const again = signRecordingCallback(once, { key: KEY, timestamp: 2 });
    expect(again.auth_timestamp).toBe(2);
    expect(verifySignature('HMACSHA256', again, again.auth_sign, [KEY])).toBe(true);
    expect(body).not.toHaveProperty('auth_sign');
    expect(body).not.toHaveProperty('auth_timestamp');
    expect(once.auth_timestamp).toBe(1);
  });

  it('refuses a missing key and an unknown algorithm', () => {
    expect(() => signRecordingCallback(buildRecordStart(), { key: '' })).toThrow(/options\.key/);
    expect(() => signRecordingCallback(buildRecordStart(), { key: KEY, algorithm: 'SHA1' as never })).toThrow(
      /unknown algorithm "SHA1"/,
    );
  });
});

describe('callback builders', () => {
  const builders = [
    [RecordingEventType.Start, buildRecordStart],
    [RecordingEventType.NewFileStart, buildRecordNewFileStart],
    [RecordingEventType.FileComplete, buildRecordFileComplete],
    [RecordingEventType.Over, buildRecordOver],
    [RecordingEventType.Failed, buildRecordFailed],
  ] as const;

  it.each(builders)('%s: the defaults pass the DTO validation and differ per call', (eventType, build) => {
    const a = build() as Record<string, unknown>;
    const b = build() as Record<string, unknown>;
    expect(a.event_type).toBe(eventType);
    expectValid(a);
    expect(a.task_id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.task_id).not.toBe(b.task_id);
    expect(a).toMatchObject({ publish_domain: 'push.example.com', app: 'live', stream: 'mystream' });
  });

  it.each(builders)('%s: overrides win, and extra fields are kept', (_eventType, build) => {
    const body = build({ task_id: 'task-9', stream: 'camera-7', future_field: 'x' } as never) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ task_id: 'task-9', stream: 'camera-7', future_field: 'x' });
    expectValid(body);
  });

  it('builds RECORD_FILE_COMPLETE like Huawei: format-specific URL, consistent times and size', () => {
    const hls = buildRecordFileComplete({ task_id: 'abcdef0123', stream: 's1' });
    expect(hls.download_url).toMatch(
      /^https:\/\/obs\.cn-north-4\.myhuaweicloud\.com\/live\/record-abcdef01-s1-\d+\/record-push\.example\.com-live-s1-\d+\.m3u8$/,
    );
    expect(hls.job_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(Date.parse(hls.end_time!) - Date.parse(hls.start_time!)).toBe(120_000);
    expect(hls.file_size).toBe(3_957_960);
    expect(buildRecordFileComplete({ record_format: RecordFormat.Mp4 }).download_url).toMatch(/\.mp4$/);
    expect(buildRecordFileComplete({ record_format: RecordFormat.Flv }).download_url).toMatch(/\.flv$/);
    const later = buildRecordFileComplete({ start_time: '2020-03-08T14:10:25Z', record_duration: 60 });
    expect(later).toMatchObject({
      start_time: '2020-03-08T14:10:25Z',
      end_time: '2020-03-08T14:11:25Z',
      record_duration: 60,
    });
    expect(later.download_url).toContain(`-${Date.parse('2020-03-08T14:10:25Z') / 1000}.m3u8`);
  });

  it('lets a test build invalid bodies on purpose', () => {
    const parsed = parseRecordingCallback(buildRecordFileComplete({ download_url: undefined, file_size: -1 }));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(Object.keys(parsed.fields).sort()).toEqual(['download_url', 'file_size']);
  });

  it('formats Huawei times without milliseconds', () => {
    expect(huaweiTime(new Date('2020-03-08T14:10:25.987Z'))).toBe('2020-03-08T14:10:25Z');
  });
});

describe('buildRecordingLifecycle', () => {
  it('sends start, per-format file starts and completions, then RECORD_OVER, all valid and of one task', () => {
    const events = buildRecordingLifecycle({
      taskId: 'life-1',
      files: 2,
      formats: [RecordFormat.Hls, RecordFormat.Mp4],
      jobId: (i) => `job-${i}`,
      startedAt: new Date('2026-01-01T00:00:00Z'),
      common: { stream: 'cam', event_type: 'RECORD_OVER' as never },
    });
    expect(events.map((e) => `${e.event_type}${'job_id' in e ? `:${e.job_id}:${e.record_format}` : ''}`)).toEqual([
      'RECORD_START',
      'RECORD_NEW_FILE_START:job-0:HLS',
      'RECORD_NEW_FILE_START:job-0:MP4',
      'RECORD_FILE_COMPLETE:job-0:HLS',
      'RECORD_FILE_COMPLETE:job-0:MP4',
      'RECORD_NEW_FILE_START:job-1:HLS',
      'RECORD_NEW_FILE_START:job-1:MP4',
      'RECORD_FILE_COMPLETE:job-1:HLS',
      'RECORD_FILE_COMPLETE:job-1:MP4',
      'RECORD_OVER',
    ]);
    for (const e of events) {
      expectValid(e);
      expect(e).toMatchObject({ task_id: 'life-1', stream: 'cam' });
    }
    const completes = events.filter((e) => e.event_type === RecordingEventType.FileComplete);
    expect(completes.map((e) => e.start_time)).toEqual([
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:02:00Z',
      '2026-01-01T00:02:00Z',
    ]);
  });

  it('leaves the last file incomplete and ends with RECORD_FAILED for a failed recording', () => {
    const events = buildRecordingLifecycle({ files: 3, outcome: 'failed' });
    const types = events.map((e) => e.event_type);
    expect(types.filter((t) => t === RecordingEventType.NewFileStart)).toHaveLength(3);
    expect(types.filter((t) => t === RecordingEventType.FileComplete)).toHaveLength(2);
    expect(types[types.length - 1]).toBe(RecordingEventType.Failed);
    expect(new Set(events.map((e) => e.task_id)).size).toBe(1);
    events.forEach(expectValid);
  });

  it('refuses a lifecycle without files', () => {
    expect(() => buildRecordingLifecycle({ files: 0 })).toThrow(RangeError);
  });
});
