import { statement } from '../storage/statement';
import type { Statement } from '../storage/statement';
import { TASK_COLUMNS } from '../tasks/task.sql';
import type { ReconcileRunStatus } from './reconcile-run.entity';

/** A datetime parameter in the dialect's form (see `SqlDialect.time`). */
type Time = Date | string | null;

/** Counts a run records when it ends. */
export interface RunCounts {
  listed: number;
  matched: number;
  recovered: number;
  stalled: number;
}

/** A stream as (publish_domain, app, stream). */
export interface StreamRef {
  publishDomain: string;
  app: string;
  stream: string;
}

/**
 * The statements of reconciliation: the runs table (`recording_reconcile_runs`, times in epoch ms)
 * and what it reads and writes of the task tables (recovered files, synthetic tasks). `?` placeholders;
 * datetimes of the task tables in the dialect's form.
 *
 * @example
 * const [run] = await db.query(em, reconcileSql.startRun({ windowStart, windowEnd, owner, leaseUntil, now }));
 */
export const reconcileSql = {
  /** A run whose lease has not yet run out, if any. */
  activeRun(now: number): Statement {
    return statement(
      `SELECT id FROM recording_reconcile_runs WHERE status = 'running' AND lease_until >= ? ORDER BY id LIMIT 1`,
      [now],
    );
  },

  /** Records a new run holding the lease; returns `id`. */
  startRun(r: { windowStart: number; windowEnd: number; owner: string; leaseUntil: number; now: number }): Statement {
    return statement(
      `INSERT INTO recording_reconcile_runs (window_start, window_end, status, lease_owner, lease_until, started_at,
         finished_at, listed, matched, recovered, stalled, errors)
       VALUES (?, ?, 'running', ?, ?, ?, NULL, 0, 0, 0, 0, NULL) RETURNING id`,
      [r.windowStart, r.windowEnd, r.owner, r.leaseUntil, r.now],
    );
  },

  /** Extends a running run's lease while its owner still holds it; returns `id` when it did. */
  extendLease(id: number, owner: string, leaseUntil: number): Statement {
    return statement(
      `UPDATE recording_reconcile_runs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'running'
       RETURNING id`,
      [leaseUntil, id, owner],
    );
  },

  /** Ends a run with its outcome and counts. */
  finishRun(
    id: number,
    status: Exclude<ReconcileRunStatus, 'running'>,
    at: number,
    counts: RunCounts,
    errors: string[],
  ): Statement {
    return statement(
      `UPDATE recording_reconcile_runs SET status = ?, finished_at = ?, lease_until = ?, listed = ?, matched = ?,
         recovered = ?, stalled = ?, errors = ? WHERE id = ?`,
      [status, at, at, counts.listed, counts.matched, counts.recovered, counts.stalled, JSON.stringify(errors), id],
    );
  },

  /** The last run that succeeded: `finished_at`, `recovered`, `window_start`, `window_end`. */
  lastSucceeded(): Statement {
    return statement(
      `SELECT id, finished_at, recovered, window_start, window_end FROM recording_reconcile_runs
       WHERE status = 'succeeded' ORDER BY id DESC LIMIT 1`,
    );
  },

  /** The stream's tasks that callbacks or recoveries reached, active since `since` or still RECORDING. */
  tasksOfStream(s: StreamRef, since: Time): Statement {
    return statement(
      `SELECT task_id AS "taskId", publish_domain AS "publishDomain", app, stream, status, created_at AS "createdAt",
         last_event_at AS "lastEventAt", stalled_at AS "stalledAt"
       FROM recording_tasks WHERE publish_domain = ? AND app = ? AND stream = ? AND status IS NOT NULL
         AND (status = 'RECORDING' OR last_event_at >= ? OR created_at >= ?)`,
      [s.publishDomain, s.app, s.stream, since, since],
    );
  },

  /** The files of the stream's tasks that started since `since` (or whose start is unknown). */
  filesOfStream(s: StreamRef, since: Time): Statement {
    return statement(
      `SELECT f.task_id AS "taskId", f.job_id AS "jobId", f.record_format AS "recordFormat",
         f.download_url AS "downloadUrl", f.start_time AS "startTime", f.end_time AS "endTime",
         f.recovery_key AS "recoveryKey"
       FROM recording_files f JOIN recording_tasks t ON t.task_id = f.task_id
       WHERE t.publish_domain = ? AND t.app = ? AND t.stream = ?
         AND (f.start_time IS NULL OR f.start_time >= ? OR f.updated_at >= ?)`,
      [s.publishDomain, s.app, s.stream, since, since],
    );
  },

  /** A task's state columns (see `TASK_COLUMNS`). */
  taskState(taskId: string): Statement {
    return statement(`SELECT ${TASK_COLUMNS} FROM recording_tasks WHERE task_id = ?`, [taskId]);
  },

  /**
   * Creates a stream's synthetic task (status OVER: its files are finished; no callback reached it),
   * or moves its last event forward to `lastEventAt`; returns its state columns.
   */
  upsertSyntheticTask(t: StreamRef & { taskId: string; recordFormat: string }, lastEventAt: Time, at: Time): Statement {
    return statement(
      `INSERT INTO recording_tasks (task_id, publish_domain, app, stream, record_format, status, last_event_type,
         last_event_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'OVER', 'RECORD_FILE_COMPLETE', ?, ?, ?)
       ON CONFLICT (task_id) DO UPDATE SET updated_at = excluded.updated_at,
         last_event_at = CASE WHEN recording_tasks.last_event_at < excluded.last_event_at
                              THEN excluded.last_event_at ELSE recording_tasks.last_event_at END
       RETURNING ${TASK_COLUMNS}`,
      [t.taskId, t.publishDomain, t.app, t.stream, t.recordFormat, lastEventAt, at, at],
    );
  },

  /**
   * Stores a recovered file unless one with its recovery key (or its task, job and format) exists;
   * returns `id` only when this statement stored it, so exactly one run or instance delivers it.
   */
  insertRecoveredFile(
    f: { taskId: string; jobId: string; recordFormat: string; downloadUrl: string | null; recoveryKey: string },
    times: { startTime: Time; endTime: Time; at: Time },
    recordDuration: number | null,
  ): Statement {
    return statement(
      `INSERT INTO recording_files (task_id, job_id, record_format, status, download_url, record_duration, start_time,
         end_time, created_at, updated_at, source, recovery_key)
       VALUES (?, ?, ?, 'COMPLETE', ?, ?, ?, ?, ?, ?, 'reconciled', ?)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        f.taskId,
        f.jobId,
        f.recordFormat,
        f.downloadUrl,
        recordDuration,
        times.startTime,
        times.endTime,
        times.at,
        times.at,
        f.recoveryKey,
      ],
    );
  },
};
