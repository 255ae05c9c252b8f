import { randomBytes, randomUUID } from 'node:crypto';
import type { RecordCallbackBaseDto } from '../protocol/dto/record-callback-base.dto';
import type { RecordFailedDto } from '../protocol/dto/record-failed.dto';
import type { RecordFileCompleteDto } from '../protocol/dto/record-file-complete.dto';
import type { RecordNewFileStartDto } from '../protocol/dto/record-new-file-start.dto';
import type { RecordOverDto } from '../protocol/dto/record-over.dto';
import type { RecordStartDto } from '../protocol/dto/record-start.dto';
import { RecordFormat, RecordingEventType } from '../protocol/recording-event-type';

/**
 * A callback body as Huawei sends it (plain JSON, snake_case), typed after the DTO of its event.
 *
 * @example
 * const body: CallbackBody<RecordStartDto> = buildRecordStart();
 */
export type CallbackBody<T extends RecordCallbackBaseDto> = { [K in keyof T]: T[K] };

/** Body of RECORD_START. */
export type RecordStartBody = CallbackBody<RecordStartDto>;
/** Body of RECORD_NEW_FILE_START. */
export type RecordNewFileStartBody = CallbackBody<RecordNewFileStartDto>;
/** Body of RECORD_FILE_COMPLETE. */
export type RecordFileCompleteBody = CallbackBody<RecordFileCompleteDto>;
/** Body of RECORD_OVER. */
export type RecordOverBody = CallbackBody<RecordOverDto>;
/** Body of RECORD_FAILED. */
export type RecordFailedBody = CallbackBody<RecordFailedDto>;
/** Body of any recording callback. */
export type RecordingCallbackBody =
  RecordStartBody | RecordNewFileStartBody | RecordFileCompleteBody | RecordOverBody | RecordFailedBody;

/** Project id used by every builder unless overridden (32 hex digits, as Huawei's). */
export const DEFAULT_PROJECT_ID = '70b76c1e9d2a4f3b880af501cd7e4a21';
/** Ingest domain used by every builder unless overridden. */
export const DEFAULT_PUBLISH_DOMAIN = 'push.example.com';

const EXTENSIONS: Record<RecordFormat, string> = { HLS: 'm3u8', FLV: 'flv', MP4: 'mp4' };
/** Bytes per second of recording, from Huawei's example (3957964 bytes for 120 s). */
const BYTES_PER_SECOND = 32_983;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * `yyyy-mm-ddThh:mm:ssZ`, the time format Huawei uses in `start_time` / `end_time`.
 *
 * @example
 * huaweiTime(new Date('2020-03-08T14:10:25.123Z')); // '2020-03-08T14:10:25Z'
 */
export function huaweiTime(date: Date | number): string {
  return new Date(date).toISOString().slice(0, 19) + 'Z';
}

function identity(overrides: Partial<RecordCallbackBaseDto>) {
  return {
    project_id: DEFAULT_PROJECT_ID,
    task_id: hex(16),
    publish_domain: DEFAULT_PUBLISH_DOMAIN,
    app: 'live',
    stream: 'mystream',
    record_format: RecordFormat.Hls,
    ...overrides,
  };
}

/**
 * A valid RECORD_START body (unsigned). A random `task_id` unless you give one.
 *
 * @example
 * buildRecordStart({ task_id: 't1', stream: 'camera-7' });
 */
export function buildRecordStart(overrides: Partial<RecordStartDto> = {}): RecordStartBody {
  return { ...identity(overrides), event_type: RecordingEventType.Start, ...overrides } as RecordStartBody;
}

/**
 * A valid RECORD_NEW_FILE_START body (unsigned): random `task_id` and `job_id` (a UUID) unless given.
 *
 * @example
 * buildRecordNewFileStart({ task_id: 't1', job_id: 'j1', record_format: RecordFormat.Mp4 });
 */
export function buildRecordNewFileStart(overrides: Partial<RecordNewFileStartDto> = {}): RecordNewFileStartBody {
  return {
    ...identity(overrides),
    event_type: RecordingEventType.NewFileStart,
    job_id: randomUUID(),
    ...overrides,
  } as RecordNewFileStartBody;
}

/**
 * A valid RECORD_FILE_COMPLETE body (unsigned), shaped like Huawei's example: a two-minute 1280x720
 * file ending now (or starting at the `start_time` you give), with a `download_url` on OBS whose extension
 * matches `record_format`.
 *
 * @example
 * buildRecordFileComplete({ task_id: 't1', job_id: 'j1', record_format: RecordFormat.Flv, file_size: 1024 });
 */
export function buildRecordFileComplete(overrides: Partial<RecordFileCompleteDto> = {}): RecordFileCompleteBody {
  const base = identity(overrides);
  const duration = typeof overrides.record_duration === 'number' ? overrides.record_duration : 120;
  // Times follow a given start_time, else the file ends now.
  const given = typeof overrides.start_time === 'string' ? Date.parse(overrides.start_time) : NaN;
  const start = Number.isNaN(given) ? Math.floor(Date.now() / 1000) * 1000 - duration * 1000 : given;
  const end = start + duration * 1000;
  const epoch = Math.floor(start / 1000);
  const format = (base.record_format ?? RecordFormat.Hls) as RecordFormat;
  const folder = `record-${base.task_id.slice(0, 8)}-${base.stream}-${epoch}`;
  const file = `record-${base.publish_domain}-${base.app}-${base.stream}-${epoch}.${EXTENSIONS[format] ?? 'bin'}`;
  return {
    ...base,
    event_type: RecordingEventType.FileComplete,
    job_id: randomUUID(),
    download_url: `https://obs.cn-north-4.myhuaweicloud.com/${encodeURIComponent(base.app)}/${encodeURIComponent(folder)}/${encodeURIComponent(file)}`,
    asset_id: hex(16),
    file_size: duration * BYTES_PER_SECOND,
    record_duration: duration,
    start_time: huaweiTime(start),
    end_time: huaweiTime(end),
    width: 1280,
    height: 720,
    ...overrides,
  } as RecordFileCompleteBody;
}

/**
 * A valid RECORD_OVER body (unsigned).
 *
 * @example
 * buildRecordOver({ task_id: 't1' });
 */
export function buildRecordOver(overrides: Partial<RecordOverDto> = {}): RecordOverBody {
  return { ...identity(overrides), event_type: RecordingEventType.Over, ...overrides } as RecordOverBody;
}

/**
 * A valid RECORD_FAILED body (unsigned), with an `error_message` like Huawei's.
 *
 * @example
 * buildRecordFailed({ task_id: 't1', error_message: 'upload to OBS failed' });
 */
export function buildRecordFailed(overrides: Partial<RecordFailedDto> = {}): RecordFailedBody {
  return {
    ...identity(overrides),
    event_type: RecordingEventType.Failed,
    error_message: 'failed to pull the stream from the origin',
    ...overrides,
  } as RecordFailedBody;
}

/**
 * Shape of a whole recording, for {@link buildRecordingLifecycle}.
 *
 * @example
 * { files: 3, formats: [RecordFormat.Hls, RecordFormat.Mp4], outcome: 'failed' }
 */
export interface RecordingLifecycleOptions {
  /** Task id (random 32 hex digits by default). */
  taskId?: string;
  /** Files the task starts, one after another (default 1). */
  files?: number;
  /** Formats recorded in parallel; each file completes once per format (default HLS only). */
  formats?: RecordFormat[];
  /**
   * `over` (default): every file completes, then RECORD_OVER. `failed`: the last file starts but never
   * completes, then RECORD_FAILED.
   */
  outcome?: 'over' | 'failed';
  /** Seconds per file (default 120). */
  fileDurationSeconds?: number;
  /** When the recording started (default: so that it ends now). */
  startedAt?: Date;
  /** Fields shared by every event (publish_domain, app, stream, project_id, extra fields…); not event_type. */
  common?: Partial<RecordCallbackBaseDto>;
  /** Job id of the n-th file, 0-based (default a random UUID). */
  jobId?: (fileIndex: number) => string;
}

/**
 * Every callback of one recording task, in the order Huawei sends them: RECORD_START; per file one
 * RECORD_NEW_FILE_START per format, then one RECORD_FILE_COMPLETE per format; then RECORD_OVER (or,
 * with `outcome: 'failed'`, the last file is left incomplete and RECORD_FAILED ends the task).
 *
 * @example
 * for (const body of buildRecordingLifecycle({ files: 2, formats: [RecordFormat.Hls, RecordFormat.Mp4] })) {
 *   await post(signRecordingCallback(body, { key }));
 * }
 */
export function buildRecordingLifecycle(options: RecordingLifecycleOptions = {}): RecordingCallbackBody[] {
  const files = options.files ?? 1;
  if (!Number.isInteger(files) || files < 1) throw new RangeError('buildRecordingLifecycle: files must be >= 1');
  const formats = options.formats?.length ? options.formats : [RecordFormat.Hls];
  const duration = options.fileDurationSeconds ?? 120;
  const failed = options.outcome === 'failed';
  const started = options.startedAt?.getTime() ?? Math.floor(Date.now() / 1000) * 1000 - files * duration * 1000;
  const { event_type: _ignored, ...shared } = options.common ?? {};
  const common = {
    ...shared,
    task_id: options.taskId ?? shared.task_id ?? hex(16),
  } as Partial<RecordCallbackBaseDto> & {
    event_type?: undefined;
  };
  const jobId = options.jobId ?? (() => randomUUID());
  const events: RecordingCallbackBody[] = [buildRecordStart({ ...common, record_format: formats[0] })];
  for (let i = 0; i < files; i++) {
    const job_id = jobId(i);
    for (const record_format of formats) events.push(buildRecordNewFileStart({ ...common, job_id, record_format }));
    if (failed && i === files - 1) break;
    const from = started + i * duration * 1000;
    const start_time = huaweiTime(from);
    for (const record_format of formats) {
      events.push(buildRecordFileComplete({ ...common, job_id, record_format, record_duration: duration, start_time }));
    }
  }
  events.push(
    failed
      ? buildRecordFailed({ ...common, record_format: formats[0] })
      : buildRecordOver({ ...common, record_format: formats[0] }),
  );
  return events;
}
