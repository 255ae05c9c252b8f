import { RecordingFileEntity } from './recording-file.entity';
import { RecordingTaskEntity } from './recording-task.entity';
import { TaskTransitionEntity } from './task-transition.entity';
import { toTaskState } from './task.store';

/**
 * A file as the REST API shows it.
 *
 * @example
 * task.files[0].downloadUrl;
 */
export interface RecordingFileView {
  jobId: string;
  recordFormat: string;
  status: string;
  downloadUrl: string | null;
  assetId: string | null;
  fileSize: number | null;
  recordDuration: number | null;
  startTime: string | null;
  endTime: string | null;
  width: number | null;
  height: number | null;
}

/**
 * A task as the REST API shows it (camelCase, ISO-8601 UTC times).
 *
 * @example
 * const task: RecordingTaskView = await (await fetch('/recording-tasks/abc')).json();
 */
export interface RecordingTaskView {
  taskId: string;
  projectId: string | null;
  publishDomain: string;
  app: string;
  stream: string;
  recordFormat: string | null;
  status: string;
  errorMessage: string | null;
  lastEventType: string | null;
  lastEventAt: string | null;
  stalledAt: string | null;
  createdAt: string;
  updatedAt: string;
  files: RecordingFileView[];
}

/**
 * One status change as the REST API shows it.
 *
 * @example
 * { fromStatus: null, toStatus: 'RECORDING', eventType: 'RECORD_START', jobId: null, at: '2026-…Z' }
 */
export interface TaskTransitionView {
  fromStatus: string | null;
  toStatus: string;
  eventType: string;
  jobId: string | null;
  at: string;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** Renders a file row. */
export function toFileView(f: RecordingFileEntity): RecordingFileView {
  return {
    jobId: f.jobId,
    recordFormat: f.recordFormat,
    status: f.status,
    downloadUrl: f.downloadUrl,
    assetId: f.assetId,
    fileSize: f.fileSize,
    recordDuration: f.recordDuration,
    startTime: iso(f.startTime),
    endTime: iso(f.endTime),
    width: f.width,
    height: f.height,
  };
}

/**
 * Renders a task row with its files. The task's state comes from the task store's one row → `TaskState`
 * mapping (`toTaskState`); the view adds the row's bookkeeping times and renders dates as ISO-8601.
 * The queries read only tasks a callback was applied to; a row without (status NULL) is refused.
 *
 * @example
 * toTaskView(taskRow, fileRows).status; // 'RECORDING'
 */
export function toTaskView(t: RecordingTaskEntity, files: RecordingFileEntity[]): RecordingTaskView {
  const state = toTaskState(t);
  if (!state) throw new TypeError(`recording task ${t.taskId} has no callback applied yet`);
  const { lastEventAt, ...task } = state;
  return {
    ...task,
    lastEventAt: lastEventAt.toISOString(),
    stalledAt: iso(t.stalledAt),
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    files: files.map(toFileView),
  };
}

/** Renders a transition row. */
export function toTransitionView(r: TaskTransitionEntity): TaskTransitionView {
  return {
    fromStatus: r.fromStatus,
    toStatus: r.toStatus,
    eventType: r.eventType,
    jobId: r.jobId,
    at: r.at.toISOString(),
  };
}
