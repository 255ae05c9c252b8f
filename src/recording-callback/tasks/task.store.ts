import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { recoveryKeyOf } from '../protocol/live-api';
import { RecordingEventType } from '../protocol/recording-event-type';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import type { RecordingTaskEntity } from './recording-task.entity';
import { fileKeyOf, reduceFile, reduceTask } from './task-state.reducer';
import type { FileState, TaskState, TaskTransition } from './task-state.reducer';
import type { FileStatus } from './task-status';
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
 * A task as `createOrLock` found it: its identity (kept from its first callback) and, once a callback
 * was applied, its state.
 */
export interface LockedTask {
  publishDomain: string;
  app: string;
  stream: string;
  state: TaskState | undefined;
}

/**
 * What applying one callback changed: the task after it, its file (for file events), and the status
 * change it caused.
 */
export interface AppliedCallback {
  task: TaskState;
  file: FileState | null;
  transition: TaskTransition | null;
  /** For a RECORD_FILE_COMPLETE: the file reconciliation already recovered under the same download URL. */
  recoveredAs?: { taskId: string; jobId: string; recoveryKey: string } | null;
}

/**
 * Owns the task tables: creates and locks a task for a callback, applies the callback through the pure
 * reducer and writes the task, file and transition rows, and flags stalled tasks. Every method runs in
 * the caller's transaction (`em`).
 *
 * @example
 * const locked = await store.createOrLock(em, dto, receivedAt);
 * const applied = await store.apply(em, locked.state, dto, callbackId, receivedAt);
 */
@Injectable()
export class TaskStore {
  constructor(
    private readonly db: DatabaseGateway,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  /**
   * Creates the task of a callback if missing and locks it, so every callback of a task is applied one
   * after another (on PostgreSQL by its row lock, on SQLite by the single writer).
   */
  async createOrLock(em: EntityManager, callback: RecordingCallbackDto, receivedAt: Date): Promise<LockedTask> {
    const at = this.db.dialect.time(receivedAt);
    const identity = {
      taskId: callback.task_id,
      publishDomain: callback.publish_domain,
      app: callback.app,
      stream: callback.stream,
    };
    const [row] = await this.db.query<TaskRecord>(em, taskSql.createOrLock(identity, at));
    const state = toTaskState({ ...row, lastEventAt: this.db.dialect.readTime(row.lastEventAt) });
    return { publishDomain: row.publishDomain, app: row.app, stream: row.stream, state };
  }

  /** Reduces the task (and its file) by one stored callback and writes what changed. */
  async apply(
    em: EntityManager,
    prev: TaskState | undefined,
    callback: RecordingCallbackDto,
    callbackId: number,
    receivedAt: Date,
  ): Promise<AppliedCallback> {
    const { time } = this.db.dialect;
    const at = time(receivedAt);
    const { task, transition } = reduceTask(prev, callback, receivedAt);
    await this.db.query(em, taskSql.update(task, time(task.lastEventAt), at));
    const file = await this.applyFile(em, callback, at);
    if (transition) await this.db.query(em, taskSql.insertTransition(task.taskId, transition, callbackId, at));
    // Only apps that reconcile can hold recovered files: the others pay no lookup.
    if (this.options.reconcile && callback.event_type === RecordingEventType.FileComplete) {
      const key = recoveryKeyOf(callback);
      const [hit] = key ? await this.db.query<{ taskId: string; jobId: string }>(em, taskSql.recoveredFile(key)) : [];
      return {
        task,
        file,
        transition,
        recoveredAs: hit ? { taskId: hit.taskId, jobId: hit.jobId, recoveryKey: key! } : null,
      };
    }
    return { task, file, transition };
  }

  /**
   * Flags up to `limit` RECORDING tasks whose last callback came before `cutoff` (once per stall: the
   * next callback clears the flag) and returns their states. A task whose callback arrived meanwhile is
   * left alone.
   */
  async flagStalled(em: EntityManager, cutoff: Date, now: Date, limit: number): Promise<TaskState[]> {
    const { time, readTime } = this.db.dialect;
    const candidates = await this.db.query<TaskRecord>(em, taskSql.stallCandidates(time(cutoff), limit));
    const flagged: TaskState[] = [];
    for (const row of candidates) {
      const [hit] = await this.db.query(em, taskSql.flagStalled(row.taskId, time(cutoff), time(now)));
      const state = hit && toTaskState({ ...row, lastEventAt: readTime(row.lastEventAt) });
      if (state) flagged.push(state);
    }
    return flagged;
  }

  private async applyFile(
    em: EntityManager,
    callback: RecordingCallbackDto,
    at: Date | string | null,
  ): Promise<FileState | null> {
    const key = fileKeyOf(callback);
    if (!key) return null;
    const { time, readTime } = this.db.dialect;
    const [row] = await this.db.query(em, taskSql.selectFile(callback.task_id, key.jobId, key.recordFormat));
    const prev: FileState | undefined = row && {
      ...key,
      status: row.status as FileStatus,
      downloadUrl: row.downloadUrl as string | null,
      assetId: row.assetId as string | null,
      fileSize: row.fileSize === null ? null : Number(row.fileSize),
      recordDuration: row.recordDuration as number | null,
      startTime: readTime(row.startTime),
      endTime: readTime(row.endTime),
      width: row.width as number | null,
      height: row.height as number | null,
    };
    const next = reduceFile(prev, callback)!;
    if (next === prev) return next;
    const times = { startTime: time(next.startTime), endTime: time(next.endTime), at };
    await this.db.query(em, taskSql.upsertFile(callback.task_id, next, times, row ? Number(row.id) : undefined));
    return next;
  }
}
