/**
 * The `event_type` values Huawei Cloud Live sends to a recording callback URL.
 *
 * @example
 * if (body.event_type === RecordingEventType.FileComplete) archive(body.download_url);
 */
export enum RecordingEventType {
  Start = 'RECORD_START',
  NewFileStart = 'RECORD_NEW_FILE_START',
  FileComplete = 'RECORD_FILE_COMPLETE',
  Over = 'RECORD_OVER',
  Failed = 'RECORD_FAILED',
}

/**
 * Every known event type, in lifecycle order.
 *
 * @example
 * RECORDING_EVENT_TYPES.includes(value as RecordingEventType);
 */
export const RECORDING_EVENT_TYPES: readonly RecordingEventType[] = Object.values(RecordingEventType);

/**
 * Recording container formats Huawei Live can produce; one RECORD_FILE_COMPLETE arrives per format.
 *
 * @example
 * if (file.recordFormat === RecordFormat.Mp4) transcode(file);
 */
export enum RecordFormat {
  Hls = 'HLS',
  Flv = 'FLV',
  Mp4 = 'MP4',
}

/**
 * Narrowing check for a raw `event_type` value.
 *
 * @example
 * isRecordingEventType('RECORD_OVER'); // true
 */
export function isRecordingEventType(value: unknown): value is RecordingEventType {
  return typeof value === 'string' && (RECORDING_EVENT_TYPES as readonly string[]).includes(value);
}
