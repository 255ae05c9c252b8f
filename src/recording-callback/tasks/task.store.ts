import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RecordingTaskEntity } from './recording-task.entity';
import type { TaskState } from './task-state.reducer';
import { taskSql } from './task.sql';
import { DatabaseGateway } from '../storage/database.gateway';

/** The task columns {@link TaskState} is made of, as an entity or a raw row of `taskSql` holds them. */
export type TaskRecord = Pick<
  RecordingTaskEntity,
  | 'taskId'
  | 'projectId'
  | 'publishDomain'
  | 'app'
  | 'stream'
  | 'recordFormat'
  | 'status'
  | 'errorMessage'
  | 'lastEventType'
  | 'lastEventAt'
>;

/**
 * The one mapping from a stored task to its reducer state; undefined for a task row that no callback
 * has been applied to yet (status NULL, created by a transaction that then stopped).
 *
 * @example
 * const state = toTaskState(entity);
 */
export function toTaskState(r: TaskRecord): TaskState | undefined {
  if (r.status === null || r.lastEventType === null || r.lastEventAt === null) return undefined;
  return {
    taskId: r.taskId,
    projectId: r.projectId,
    publishDomain: r.publishDomain,
    app: r.app,
    stream: r.stream,
    recordFormat: r.recordFormat,
    status: r.status,
    errorMessage: r.errorMessage,
    lastEventType: r.lastEventType,
    lastEventAt: r.lastEventAt,
  };
}

/**
 * Flags stalled tasks in the caller's transaction (`em`). Callbacks are applied to the task tables by
 * `TaskBatchStore`.
 *
 * @example
 * const flagged = await store.flagStalled(em, cutoff, now, 100);
 */
@Injectable()
export class TaskStore {
  constructor(private readonly db: DatabaseGateway) {}

  /**
   * Flags up to `limit` RECORDING tasks whose last callback came before `cutoff` (once per stall: the
   * next callback clears the flag) and returns their states. A task whose callback arrived meanwhile is
   * left alone.
   */
  async flagStalled(em: EntityManager, cutoff: Date, now: Date, limit: number): Promise<TaskState[]> {
    const { time, readTime } = this.db.dialect;
    const candidates = await this.db.query<TaskRecord>(em, taskSql.stallCandidates(time(cutoff), limit));
    const flagged: TaskState[] = [];
    // In task id order, the order in which ingest batches lock tasks, so the two never deadlock.
    candidates.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
    for (const row of candidates) {
      const [hit] = await this.db.query(em, taskSql.flagStalled(row.taskId, time(cutoff), time(now)));
      const state = hit && toTaskState({ ...row, lastEventAt: readTime(row.lastEventAt) });
      if (state) flagged.push(state);
    }
    return flagged;
  }
}
