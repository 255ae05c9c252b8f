import { statement, valueRows as rows } from '../storage/statement';
import type { Statement } from '../storage/statement';
import type { FileState, TaskState, TaskTransition } from './task-state.reducer';
import { FILE_COLUMNS, TASK_COLUMNS } from './task.sql';

/** A datetime parameter in the dialect's form (see `SqlDialect.time`). */
type Time = Date | string | null;

/** What a task is created with: the identity of its first callback (and that callback's arrival time). */
export interface TaskIdentity {
  taskId: string;
  publishDomain: string;
  app: string;
  stream: string;
}

/** A file's reduced state to write, with its task and times in the dialect's form. */
export interface FileWrite {
  taskId: string;
  file: FileState;
  startTime: Time;
  endTime: Time;
  createdAt: Time;
  updatedAt: Time;
}

/**
 * The statements with which one transaction writes the task tables for a whole batch of callbacks:
 * one statement per table, whatever the batch size. Multi-row `INSERT … ON CONFLICT` is the same SQL
 * on both databases.
 *
 * @example
 * const rows = await db.query<TaskRecord>(em, taskBatchSql.createOrLockMany(sortedIdentities, at));
 */
export const taskBatchSql = {
  /**
   * Creates the missing tasks (status NULL: not yet reduced) and locks them all, returning their
   * columns. Rows are taken in the order given, so callers pass them sorted by task id: two
   * transactions that lock overlapping tasks then wait on each other in one order and never deadlock.
   * The no-op DO UPDATE takes the row lock on PostgreSQL, which DO NOTHING would not.
   */
  createOrLockMany(tasks: Array<TaskIdentity & { at: Time }>): Statement {
    return statement(
      `INSERT INTO recording_tasks (task_id, publish_domain, app, stream, status, created_at, updated_at)
       VALUES ${rows(tasks.length, 7)}
       ON CONFLICT (task_id) DO UPDATE SET updated_at = recording_tasks.updated_at
       RETURNING ${TASK_COLUMNS}`,
      tasks.flatMap((t) => [t.taskId, t.publishDomain, t.app, t.stream, null, t.at, t.at]),
    );
  },

  /**
   * Writes reduced task states (of tasks that exist and are locked) and clears their stall flags, as
   * an upsert so that one statement updates every row with its own values.
   */
  updateMany(tasks: Array<{ task: TaskState; lastEventAt: Time; at: Time }>): Statement {
    return statement(
      `INSERT INTO recording_tasks (task_id, publish_domain, app, stream, project_id, record_format, status,
         error_message, last_event_type, last_event_at, stalled_at, created_at, updated_at)
       VALUES ${rows(tasks.length, 13)}
       ON CONFLICT (task_id) DO UPDATE SET project_id = excluded.project_id, record_format = excluded.record_format,
         status = excluded.status, error_message = excluded.error_message, last_event_type = excluded.last_event_type,
         last_event_at = excluded.last_event_at, stalled_at = NULL, updated_at = excluded.updated_at`,
      tasks.flatMap(({ task, lastEventAt, at }) => [
        task.taskId,
        task.publishDomain,
        task.app,
        task.stream,
        task.projectId,
        task.recordFormat,
        task.status,
        task.errorMessage,
        task.lastEventType,
        lastEventAt,
        null,
        at,
        at,
      ]),
    );
  },

  /** The stored files among the given (task_id, job_id, record_format) keys, with those three columns. */
  selectFiles(keys: Array<{ taskId: string; jobId: string; recordFormat: string }>): Statement {
    return statement(
      `SELECT task_id AS "taskId", job_id AS "jobId", record_format AS "recordFormat", ${FILE_COLUMNS}
       FROM recording_files WHERE ${keys.map(() => '(task_id = ? AND job_id = ? AND record_format = ?)').join(' OR ')}`,
      keys.flatMap((k) => [k.taskId, k.jobId, k.recordFormat]),
    );
  },

  /** Writes reduced file states (distinct keys), inserting new files and updating stored ones. */
  upsertFiles(files: FileWrite[]): Statement {
    return statement(
      `INSERT INTO recording_files (task_id, job_id, record_format, status, download_url, asset_id, file_size,
         record_duration, start_time, end_time, width, height, created_at, updated_at)
       VALUES ${rows(files.length, 14)}
       ON CONFLICT (task_id, job_id, record_format) DO UPDATE SET status = excluded.status,
         download_url = excluded.download_url, asset_id = excluded.asset_id, file_size = excluded.file_size,
         record_duration = excluded.record_duration, start_time = excluded.start_time, end_time = excluded.end_time,
         width = excluded.width, height = excluded.height, updated_at = excluded.updated_at`,
      files.flatMap((w) => [
        w.taskId,
        w.file.jobId,
        w.file.recordFormat,
        w.file.status,
        w.file.downloadUrl,
        w.file.assetId,
        w.file.fileSize,
        w.file.recordDuration,
        w.startTime,
        w.endTime,
        w.file.width,
        w.file.height,
        w.createdAt,
        w.updatedAt,
      ]),
    );
  },

  /** Records status changes of tasks, in order. */
  insertTransitions(
    list: Array<{ taskId: string; transition: TaskTransition; callbackId: number; at: Time }>,
  ): Statement {
    return statement(
      `INSERT INTO recording_task_transitions (task_id, from_status, to_status, event_type, job_id, callback_id, at)
       VALUES ${rows(list.length, 7)}`,
      list.flatMap(({ taskId, transition: t, callbackId, at }) => [
        taskId,
        t.fromStatus,
        t.toStatus,
        t.eventType,
        t.jobId,
        callbackId,
        at,
      ]),
    );
  },
};
