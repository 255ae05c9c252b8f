import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { RecordingEventType } from '../protocol/recording-event-type';
import { FileStatus, TaskStatus, joinTaskStatus, statusOfEvent } from './task-status';

/**
 * A task's stored state, as the reducer sees it (files are reduced separately, one at a time).
 *
 * @example
 * const next = reduceTask(undefined, dto, new Date()).task;
 */
export interface TaskState {
  taskId: string;
  projectId: string | null;
  publishDomain: string;
  app: string;
  stream: string;
  recordFormat: string | null;
  status: TaskStatus;
  errorMessage: string | null;
  lastEventType: RecordingEventType;
  lastEventAt: Date;
}

/**
 * A file's stored state. A file is identified by (taskId, jobId, recordFormat).
 *
 * @example
 * const file = reduceFile(undefined, dto); // RECORDING, or COMPLETE for RECORD_FILE_COMPLETE
 */
export interface FileState {
  jobId: string;
  recordFormat: string;
  status: FileStatus;
  downloadUrl: string | null;
  assetId: string | null;
  fileSize: number | null;
  recordDuration: number | null;
  startTime: Date | null;
  endTime: Date | null;
  width: number | null;
  height: number | null;
}

/**
 * One change of a task's status, caused by one callback.
 *
 * @example
 * { fromStatus: 'RECORDING', toStatus: 'OVER', eventType: 'RECORD_OVER', jobId: null }
 */
export interface TaskTransition {
  fromStatus: TaskStatus | null;
  toStatus: TaskStatus;
  eventType: RecordingEventType;
  jobId: string | null;
}

/**
 * Applies one callback to a task. The status is a join over the events seen, so the final status does
 * not depend on arrival order; it never moves down. Returns the transition when the status changed.
 *
 * @example
 * const { task, transition } = reduceTask(stored, dto, receivedAt);
 */
export function reduceTask(
  prev: TaskState | undefined,
  event: RecordingCallbackDto,
  receivedAt: Date,
): { task: TaskState; transition: TaskTransition | null } {
  const fromStatus = prev?.status ?? null;
  const status = joinTaskStatus(fromStatus, statusOfEvent(event.event_type));
  const failedNow = event.event_type === RecordingEventType.Failed;
  const latest = !prev || receivedAt.getTime() >= prev.lastEventAt.getTime();
  const task: TaskState = {
    taskId: event.task_id,
    projectId: prev?.projectId ?? event.project_id ?? null,
    publishDomain: prev?.publishDomain ?? event.publish_domain,
    app: prev?.app ?? event.app,
    stream: prev?.stream ?? event.stream,
    recordFormat: prev?.recordFormat ?? event.record_format ?? null,
    status,
    // The first failure's message is the cause; later ones are usually consequences.
    errorMessage: prev?.errorMessage ?? (failedNow ? (event.error_message ?? null) : null),
    lastEventType: latest ? event.event_type : prev.lastEventType,
    lastEventAt: latest ? receivedAt : prev.lastEventAt,
  };
  const transition =
    status === fromStatus
      ? null
      : { fromStatus, toStatus: status, eventType: event.event_type, jobId: fileKeyOf(event)?.jobId ?? null };
  return { task, transition };
}

/**
 * The file a callback is about, or `undefined` for task-level events.
 *
 * @example
 * fileKeyOf(fileCompleteDto); // { jobId: 'dc0a…', recordFormat: 'HLS' }
 */
export function fileKeyOf(event: RecordingCallbackDto): { jobId: string; recordFormat: string } | undefined {
  if (event.event_type !== RecordingEventType.NewFileStart && event.event_type !== RecordingEventType.FileComplete) {
    return undefined;
  }
  return { jobId: event.job_id, recordFormat: event.record_format };
}

function parseTime(value: string | undefined): Date | null {
  return value === undefined ? null : new Date(value);
}

/**
 * Applies one file event to a file. RECORD_FILE_COMPLETE fills the details and marks it COMPLETE; a
 * RECORD_NEW_FILE_START arriving later never erases them. Task-level events return `prev` unchanged.
 *
 * @example
 * const file = reduceFile(storedFile, dto);
 */
export function reduceFile(prev: FileState | undefined, event: RecordingCallbackDto): FileState | undefined {
  const key = fileKeyOf(event);
  if (!key) return prev;
  if (event.event_type !== RecordingEventType.FileComplete) {
    return (
      prev ?? {
        ...key,
        status: FileStatus.Recording,
        downloadUrl: null,
        assetId: null,
        fileSize: event.file_size ?? null,
        recordDuration: event.record_duration ?? null,
        startTime: null,
        endTime: null,
        width: null,
        height: null,
      }
    );
  }
  return {
    ...key,
    status: FileStatus.Complete,
    downloadUrl: event.download_url,
    assetId: event.asset_id ?? null,
    fileSize: event.file_size ?? null,
    recordDuration: event.record_duration ?? null,
    startTime: parseTime(event.start_time),
    endTime: parseTime(event.end_time),
    width: event.width ?? null,
    height: event.height ?? null,
  };
}
