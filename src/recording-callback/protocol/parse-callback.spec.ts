import { DTO_BY_EVENT_TYPE } from './dto/recording-callback.dto';
import { parseRecordingCallback } from './parse-callback';
import type { ParseResult } from './parse-callback';
import { RecordingEventType } from './recording-event-type';

/** The RECORD_FILE_COMPLETE example from Huawei's "Configuring a Recording Callback" page. */
const HUAWEI_EXAMPLE = {
  project_id: '70b76xxxxxx34253880af501cdxxxxxx',
  job_id: 'dc0a1773-0cef-xxxx-xxxx-9a38fdb095d2',
  task_id: '51126d0ebe94b1da00d2e21a10xxxxxx',
  event_type: 'RECORD_FILE_COMPLETE',
  publish_domain: 'push.example.com',
  app: 'live',
  stream: 'mystream',
  record_format: 'HLS',
  download_url:
    'https://obs.cn-north-4.myhuaweicloud.com/live/record-xxxx-mystream-1589967495/record-push.example.com-live-mystream-1589967495.m3u8',
  asset_id: '1a0d8e9bfaexxxxxxbe5021e62aa1e96',
  file_size: 3957964,
  record_duration: 120,
  start_time: '2020-03-08T14:10:25Z',
  end_time: '2020-03-08T14:12:25Z',
  width: 1280,
  height: 720,
  auth_sign: '4f97f46759axxxxxx7ad21e9935dc175',
  auth_timestamp: 1583676745,
};

const BASE = { task_id: 't-1', publish_domain: 'push.example.com', app: 'live', stream: 'mystream' };
const FILE = { job_id: 'job-1', record_format: 'MP4' };
const DOWNLOAD_URL = 'https://obs.example.com/live/job-1.mp4';

const MINIMAL: Record<RecordingEventType, Record<string, unknown>> = {
  RECORD_START: { event_type: 'RECORD_START', ...BASE },
  RECORD_NEW_FILE_START: { event_type: 'RECORD_NEW_FILE_START', ...BASE, ...FILE },
  RECORD_FILE_COMPLETE: { event_type: 'RECORD_FILE_COMPLETE', ...BASE, ...FILE, download_url: DOWNLOAD_URL },
  RECORD_OVER: { event_type: 'RECORD_OVER', ...BASE },
  RECORD_FAILED: { event_type: 'RECORD_FAILED', ...BASE },
};

const SIGNED = { project_id: 'p-1', auth_sign: 'ab'.repeat(32), auth_timestamp: 1583676745 };
const FULL: Record<RecordingEventType, Record<string, unknown>> = {
  RECORD_START: { ...MINIMAL.RECORD_START, ...SIGNED, record_format: 'FLV' },
  RECORD_NEW_FILE_START: { ...MINIMAL.RECORD_NEW_FILE_START, ...SIGNED, file_size: 0, record_duration: 0 },
  RECORD_FILE_COMPLETE: {
    ...HUAWEI_EXAMPLE,
    play_url: 'https://play.example.com/live/mystream.m3u8',
    obs_location: 'cn-north-4',
    obs_bucket: 'recordings',
    obs_object: 'live/record-mystream.m3u8',
  },
  RECORD_OVER: { ...MINIMAL.RECORD_OVER, ...SIGNED, record_format: 'HLS', file_size: 10, record_duration: 5 },
  RECORD_FAILED: { ...MINIMAL.RECORD_FAILED, ...SIGNED, error_message: 'pull stream failed' },
};

const EVENT_TYPES = Object.values(RecordingEventType);
const FILE_EVENTS = [RecordingEventType.NewFileStart, RecordingEventType.FileComplete];

function without(body: Record<string, unknown>, field: string): Record<string, unknown> {
  const { [field]: _omitted, ...rest } = body;
  return rest;
}

function invalidFields(result: ParseResult): string[] {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.dto)}`);
  return Object.keys(result.fields).sort();
}

describe('parseRecordingCallback', () => {
  describe.each(EVENT_TYPES)('%s', (eventType) => {
    it.each([
      ['minimal', MINIMAL[eventType]],
      ['full', FULL[eventType]],
    ])('accepts a %s body as its own DTO class with every field', (_kind, body) => {
      const result = parseRecordingCallback(body);
      if (!result.ok) throw new Error(JSON.stringify(result.fields));
      expect(result.dto).toBeInstanceOf(DTO_BY_EVENT_TYPE[eventType]);
      expect({ ...result.dto }).toEqual(body);
    });

    it.each(['task_id', 'publish_domain', 'app', 'stream'])('requires a non-empty %s', (field) => {
      expect(invalidFields(parseRecordingCallback(without(MINIMAL[eventType], field)))).toEqual([field]);
      expect(invalidFields(parseRecordingCallback({ ...MINIMAL[eventType], [field]: '' }))).toEqual([field]);
      expect(invalidFields(parseRecordingCallback({ ...MINIMAL[eventType], [field]: 42 }))).toEqual([field]);
    });

    it.each(['file_size', 'record_duration'])('rejects a negative or non-integer %s', (field) => {
      for (const value of [-1, 1.5, '10', Number.POSITIVE_INFINITY]) {
        expect(invalidFields(parseRecordingCallback({ ...MINIMAL[eventType], [field]: value }))).toEqual([field]);
      }
      expect(parseRecordingCallback({ ...MINIMAL[eventType], [field]: 0 }).ok).toBe(true);
    });

    it.each(['AVI', 'hls', '', 1])('rejects record_format %p', (format) => {
      expect(invalidFields(parseRecordingCallback({ ...MINIMAL[eventType], record_format: format }))).toEqual([
        'record_format',
      ]);
    });

    it.each(['HLS', 'FLV', 'MP4'])('accepts record_format %s', (format) => {
      expect(parseRecordingCallback({ ...MINIMAL[eventType], record_format: format }).ok).toBe(true);
    });

    it('keeps unknown extra fields on the DTO', () => {
      const extra = { obs_region: 'cn-north-4', future: { nested: [1, 'two', null] }, flag: false };
      const result = parseRecordingCallback({ ...MINIMAL[eventType], ...extra });
      if (!result.ok) throw new Error(JSON.stringify(result.fields));
      expect(result.dto).toMatchObject(extra);
    });
  });

  describe.each(FILE_EVENTS)('%s file identity', (eventType) => {
    it.each(['job_id', 'record_format'])('requires %s', (field) => {
      expect(invalidFields(parseRecordingCallback(without(MINIMAL[eventType], field)))).toEqual([field]);
    });

    it('rejects an empty job_id', () => {
      expect(invalidFields(parseRecordingCallback({ ...MINIMAL[eventType], job_id: '' }))).toEqual(['job_id']);
    });
  });

  describe('RECORD_FILE_COMPLETE', () => {
    const body = MINIMAL.RECORD_FILE_COMPLETE;

    it('accepts Huawei’s documented example', () => {
      expect(parseRecordingCallback(HUAWEI_EXAMPLE).ok).toBe(true);
    });

    it.each([undefined, '', 'not a url', 'ftp://obs.example.com/f.mp4', 42])('rejects download_url %p', (url) => {
      const input = url === undefined ? without(body, 'download_url') : { ...body, download_url: url };
      expect(invalidFields(parseRecordingCallback(input))).toEqual(['download_url']);
    });

    it.each(['width', 'height'])('rejects a negative or non-integer %s', (field) => {
      for (const value of [-1, 0.5, '720']) {
        expect(invalidFields(parseRecordingCallback({ ...body, [field]: value }))).toEqual([field]);
      }
    });

    it.each(['2020-03-08T14:10:25Z', '2020-02-29T23:59:59Z', '2000-02-29T00:00:00Z', '1999-12-31T23:59:59Z'])(
      'accepts the time %s',
      (time) => {
        expect(parseRecordingCallback({ ...body, start_time: time, end_time: time }).ok).toBe(true);
      },
    );

    it.each([
      '2020-02-30T14:10:25Z',
      '2021-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2020-04-31T00:00:00Z',
      '2020-13-01T00:00:00Z',
      '2020-03-08T24:00:00Z',
      '2020-03-08T14:60:00Z',
      '2020-03-08T14:10:60Z',
      '2020-03-08 14:10:25Z',
      '2020-03-08T14:10:25',
      '2020-03-08T14:10:25.000Z',
      '2020-03-08T14:10:25+08:00',
      '2020-3-8T14:10:25Z',
      '',
      1583676625,
    ])('rejects the time %p', (time) => {
      expect(invalidFields(parseRecordingCallback({ ...body, start_time: time }))).toEqual(['start_time']);
      expect(invalidFields(parseRecordingCallback({ ...body, end_time: time }))).toEqual(['end_time']);
    });

    it('names every invalid field at once', () => {
      const result = parseRecordingCallback({
        ...without(body, 'job_id'),
        file_size: -5,
        end_time: '2020-02-30T00:00:00Z',
      });
      expect(invalidFields(result)).toEqual(['end_time', 'file_size', 'job_id']);
    });
  });

  it('rejects an over-long error_message on RECORD_FAILED', () => {
    const result = parseRecordingCallback({ ...MINIMAL.RECORD_FAILED, error_message: 'x'.repeat(4097) });
    expect(invalidFields(result)).toEqual(['error_message']);
  });

  it.each([undefined, 'RECORD_PAUSED', 'record_start', '', 42, null, ['RECORD_START']])(
    'rejects event_type %p and names the field',
    (eventType) => {
      const body =
        eventType === undefined ? without(MINIMAL.RECORD_START, 'event_type') : { ...BASE, event_type: eventType };
      const result = parseRecordingCallback(body);
      expect(invalidFields(result)).toEqual(['event_type']);
      expect(result.ok || result.fields.event_type.join(' ')).toContain('RECORD_FILE_COMPLETE');
    },
  );

  it.each([null, undefined, [], [MINIMAL.RECORD_START], 'RECORD_START', 42, true])(
    'rejects the non-object body %p and names the body',
    (body) => {
      expect(invalidFields(parseRecordingCallback(body))).toEqual(['body']);
    },
  );
});

describe('parseRecordingCallback: length limits', () => {
  const refused = (body: Record<string, unknown>) => {
    const result = parseRecordingCallback(body);
    return result.ok ? [] : Object.keys(result.fields);
  };
  const complete = MINIMAL.RECORD_FILE_COMPLETE;

  it.each(['task_id', 'publish_domain', 'app', 'stream', 'job_id', 'project_id'])(
    '%s: 256 characters pass, 257 are refused naming the field',
    (field) => {
      expect(refused({ ...complete, [field]: 'i'.repeat(256) })).toEqual([]);
      expect(refused({ ...complete, [field]: 'i'.repeat(257) })).toEqual([field]);
    },
  );

  it('download_url: 2048 characters pass, 2049 are refused naming the field', () => {
    const url = (n: number) => `https://obs.example.com/${'u'.repeat(n - 'https://obs.example.com/'.length)}`;
    expect(url(2048)).toHaveLength(2048);
    expect(refused({ ...complete, download_url: url(2048) })).toEqual([]);
    expect(refused({ ...complete, download_url: url(2049) })).toEqual(['download_url']);
  });
});
