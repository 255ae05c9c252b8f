import type { EntityManager } from 'typeorm';
import { statement } from '../storage/statement';
import type { Statement } from '../storage/statement';
import type { ListTasksQuery } from './list-tasks.query';
import { RecordingTaskEntity } from './recording-task.entity';
import type { TaskCursor } from './task-cursor';

/** A datetime parameter in the dialect's form (see `SqlDialect.time`). */
type Time = Date | string | null;

/** Task columns under the names of {@link TaskState}'s fields (double-quoted aliases work on both databases); also read by reconcile/. */
export const TASK_COLUMNS = `task_id AS "taskId", project_id AS "projectId", publish_domain AS "publishDomain", app, stream,
  record_format AS "recordFormat", status, error_message AS "errorMessage", last_event_type AS "lastEventType",
  last_event_at AS "lastEventAt"`;

/** File columns under the names of {@link FileState}'s fields, plus the row `id`. */
export const FILE_COLUMNS = `id, status, download_url AS "downloadUrl", asset_id AS "assetId", file_size AS "fileSize",
  record_duration AS "recordDuration", start_time AS "startTime", end_time AS "endTime", width, height`;

/**
 * The statements of the task tables (`recording_tasks`, `recording_files`, `recording_task_transitions`),
 * written once with `?` placeholders; datetimes are passed in the dialect's form.
 *
 * @example
 * const [row] = await db.query(em, taskSql.createOrLock(callback, at));
 */
export const taskSql = {
  /** The task's id, for a row lock (see `SqlDialect.lockRows`). */
  selectTaskId(taskId: string): Statement {
    return statement('SELECT task_id FROM recording_tasks WHERE task_id = ?', [taskId]);
  },

  /** The files reconciliation recovered under these recovery keys (see `recoveryKeyOf`). */
  recoveredFiles(recoveryKeys: string[]): Statement {
    return statement(
      `SELECT task_id AS "taskId", job_id AS "jobId", recovery_key AS "recoveryKey" FROM recording_files
       WHERE source = 'reconciled' AND recovery_key IN (${recoveryKeys.map(() => '?').join(', ')})`,
      recoveryKeys,
    );
  },

  /** RECORDING tasks not yet flagged whose last callback came before `cutoff`, oldest first. */
  stallCandidates(cutoff: Time, limit: number): Statement {
    return statement(
      `SELECT ${TASK_COLUMNS} FROM recording_tasks
       WHERE status = 'RECORDING' AND stalled_at IS NULL AND last_event_at < ?
       ORDER BY last_event_at LIMIT ${Math.trunc(limit)}`,
      [cutoff],
    );
  },

  /**
   * Flags one task as stalled, re-checking the conditions so that a callback that arrived meanwhile wins;
   * returns `task_id` when it flagged it.
   */
  flagStalled(taskId: string, cutoff: Time, now: Time): Statement {
    return statement(
      `UPDATE recording_tasks SET stalled_at = ?
       WHERE task_id = ? AND status = 'RECORDING' AND stalled_at IS NULL AND last_event_at < ?
       RETURNING task_id`,
      [now, taskId, cutoff],
    );
  },
};

/**
 * One page of tasks that callbacks were applied to, newest first in the stable keyset order
 * (created_at, task_id), after `cursor` when given; at most `take` rows.
 *
 * @example
 * const rows = await taskPage(em, { status: TaskStatus.Over }, undefined, 21);
 */
export function taskPage(
  em: EntityManager,
  filter: Pick<ListTasksQuery, 'publishDomain' | 'app' | 'stream' | 'status'>,
  cursor: TaskCursor | undefined,
  take: number,
): Promise<RecordingTaskEntity[]> {
  const qb = em.getRepository(RecordingTaskEntity).createQueryBuilder('t').where('t.status IS NOT NULL');
  if (filter.publishDomain !== undefined) {
    qb.andWhere('t.publish_domain = :publishDomain', { publishDomain: filter.publishDomain });
  }
  if (filter.app !== undefined) qb.andWhere('t.app = :app', { app: filter.app });
  if (filter.stream !== undefined) qb.andWhere('t.stream = :stream', { stream: filter.stream });
  if (filter.status !== undefined) qb.andWhere('t.status = :status', { status: filter.status });
  if (cursor) {
    // A row value, so both databases search the index range instead of filtering every row before it.
    qb.andWhere('(t.created_at, t.task_id) < (:cAt, :cId)', { cAt: cursor.createdAt, cId: cursor.taskId });
  }
  return qb.orderBy('t.created_at', 'DESC').addOrderBy('t.task_id', 'DESC').limit(take).getMany();
}
