import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { recoveryKeyOf } from '../protocol/live-api';
import { RecordingEventType } from '../protocol/recording-event-type';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { DatabaseGateway } from '../storage/database.gateway';
import type { SqlDialect } from '../storage/sql-dialect';
import type { Statement } from '../storage/statement';
import { taskBatchSql } from './task-batch.sql';
import { taskSql } from './task.sql';
import type { FileWrite, TaskIdentity } from './task-batch.sql';
import { fileKeyOf, reduceFile, reduceTask } from './task-state.reducer';
import type { FileState, TaskState, TaskTransition } from './task-state.reducer';
import type { FileStatus } from './task-status';
import { toTaskState } from './task.store';
import type { TaskRecord } from './task.store';

/**
 * A task as {@link TaskBatchStore.lockStatement} found it: its identity (kept from its first callback) and,
 * once a callback was applied, its state.
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

/** One stored callback to apply, with its id and arrival time. */
export interface CallbackToApply {
  callback: RecordingCallbackDto;
  callbackId: number;
  receivedAt: Date;
}

type FileKey = { taskId: string; jobId: string; recordFormat: string };
const keyText = (k: FileKey) => JSON.stringify([k.taskId, k.jobId, k.recordFormat]);

/** A stored file row of `taskBatchSql.selectFiles` as reducer state. */
function toFileState(row: Record<string, unknown>, readTime: SqlDialect['readTime']): FileState {
  return {
    jobId: String(row.jobId),
    recordFormat: String(row.recordFormat),
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
}

/**
 * The task tables for a batch of callbacks in the caller's transaction, with one statement per table:
 * locks (or creates) every task of the batch in task id order, reduces each task and file in memory by
 * its callbacks in batch order (the pure reducer), and returns the statements that write the final rows.
 *
 * @example
 * const lock = store.lockStatement([{ taskId, publishDomain, app, stream, at: receivedAt }]);
 * const locked = lock.read(await db.query(em, lock.statement));
 * const { applied, writes } = await store.reduceAll(em, locked, [{ callback, callbackId, receivedAt }]);
 * await db.writeAll(em, writes);
 */
@Injectable()
export class TaskBatchStore {
  constructor(
    private readonly db: DatabaseGateway,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  /**
   * The statement that creates the missing tasks and locks them all, in task id order whatever the order
   * given (so concurrent batches never deadlock on each other), each created with the identity given for
   * it; and the locked tasks its rows stand for. The caller runs it, with other statements in the same
   * round trip where it can (`DatabaseGateway.queryInOrder`).
   */
  lockStatement(identities: Array<TaskIdentity & { at: Date }>): {
    statement: Statement;
    read(rows: Record<string, unknown>[]): Map<string, LockedTask>;
  } {
    const { time, readTime } = this.db.dialect;
    const sorted = identities
      .map((t) => ({ ...t, at: time(t.at) }))
      .sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
    const read = (rows: Record<string, unknown>[]) =>
      new Map(
        (rows as unknown as TaskRecord[]).map((row) => [
          row.taskId,
          {
            publishDomain: row.publishDomain,
            app: row.app,
            stream: row.stream,
            state: toTaskState({ ...row, lastEventAt: readTime(row.lastEventAt) }),
          },
        ]),
      );
    return { statement: taskBatchSql.createOrLockMany(sorted), read };
  }

  /**
   * Applies stored callbacks (of locked tasks) in order, in memory: returns what each one changed, in
   * order, and the statements that write the tasks, files and transitions they changed. The caller runs
   * those in the same transaction (they are independent of each other, see `DatabaseGateway.writeAll`).
   * `loaded`: the stored files of the entries, when the caller already read them with {@link filesOf}.
   */
  async reduceAll(
    em: EntityManager,
    locked: Map<string, LockedTask>,
    entries: CallbackToApply[],
    loaded?: Map<string, FileState>,
  ): Promise<{ applied: AppliedCallback[]; writes: Statement[] }> {
    if (!entries.length) return { applied: [], writes: [] };
    const { time } = this.db.dialect;
    const tasks = new Map<string, TaskState | undefined>([...locked].map(([id, l]) => [id, l.state]));
    const files =
      loaded ??
      (await this.loadFiles(
        em,
        entries.map((e) => e.callback),
      ));
    const taskWrites = new Map<string, { task: TaskState; at: Date }>();
    const fileWrites = new Map<string, { taskId: string; file: FileState; createdAt: Date; at: Date }>();
    const transitions: Parameters<typeof taskBatchSql.insertTransitions>[0] = [];
    const applied = entries.map(({ callback, callbackId, receivedAt }): AppliedCallback => {
      const taskId = callback.task_id;
      const { task, transition } = reduceTask(tasks.get(taskId), callback, receivedAt);
      tasks.set(taskId, task);
      taskWrites.set(taskId, { task, at: receivedAt });
      if (transition) transitions.push({ taskId, transition, callbackId, at: time(receivedAt) });
      const key = fileKeyOf(callback);
      if (!key) return { task, file: null, transition };
      const k = keyText({ taskId, ...key });
      const prev = files.get(k);
      const file = reduceFile(prev, callback)!;
      if (file !== prev) {
        files.set(k, file);
        fileWrites.set(k, { taskId, file, createdAt: fileWrites.get(k)?.createdAt ?? receivedAt, at: receivedAt });
      }
      return { task, file, transition };
    });
    const writes = [
      taskBatchSql.updateMany(
        [...taskWrites.values()].map(({ task, at }) => ({ task, lastEventAt: time(task.lastEventAt), at: time(at) })),
      ),
    ];
    if (fileWrites.size) {
      const fileRows: FileWrite[] = [...fileWrites.values()].map((w) => ({
        taskId: w.taskId,
        file: w.file,
        startTime: time(w.file.startTime),
        endTime: time(w.file.endTime),
        createdAt: time(w.createdAt),
        updatedAt: time(w.at),
      }));
      writes.push(taskBatchSql.upsertFiles(fileRows));
    }
    if (transitions.length) writes.push(taskBatchSql.insertTransitions(transitions));
    // Only apps that reconcile can hold recovered files: the others pay no lookup. It reads only files that
    // reconciliation stored, which these writes never touch, so it may run before them.
    if (this.options.reconcile) await this.markRecovered(em, entries, applied);
    return { applied, writes };
  }

  /** Names, on each RECORD_FILE_COMPLETE, the file reconciliation already recovered for it (or null). */
  private async markRecovered(em: EntityManager, entries: CallbackToApply[], applied: AppliedCallback[]) {
    const keys = entries.map(({ callback }) =>
      callback.event_type === RecordingEventType.FileComplete ? recoveryKeyOf(callback) : undefined,
    );
    const wanted = [...new Set(keys.filter((k): k is string => typeof k === 'string'))];
    const rows = wanted.length
      ? await this.db.query<{ taskId: string; jobId: string; recoveryKey: string }>(em, taskSql.recoveredFiles(wanted))
      : [];
    const byKey = new Map(rows.map((r) => [r.recoveryKey, r]));
    keys.forEach((key, i) => {
      if (key === undefined) return;
      const hit = key === null ? undefined : byKey.get(key);
      applied[i].recoveredAs = hit ? { taskId: hit.taskId, jobId: hit.jobId, recoveryKey: key! } : null;
    });
  }

  /**
   * The read of the stored files that callbacks are about (null when none is about a file), and the
   * stored states it found, by file key, from its rows: a caller that reads them together with other
   * statements passes the result to {@link reduceAll}. Rows may be the JSON rows of
   * `DatabaseGateway.writeWithReads`.
   */
  filesOf(callbacks: RecordingCallbackDto[]): {
    select: Statement | null;
    read(rows: Record<string, unknown>[]): Map<string, FileState>;
  } {
    const keys = new Map<string, FileKey>();
    for (const callback of callbacks) {
      const key = fileKeyOf(callback);
      if (key) keys.set(keyText({ taskId: callback.task_id, ...key }), { taskId: callback.task_id, ...key });
    }
    const { readTime } = this.db.dialect;
    return {
      select: keys.size ? taskBatchSql.selectFiles([...keys.values()]) : null,
      read: (rows) => new Map(rows.map((row) => [keyText(row as FileKey), toFileState(row, readTime)])),
    };
  }

  /** The stored states of the files the callbacks are about, by key text. */
  private async loadFiles(em: EntityManager, callbacks: RecordingCallbackDto[]): Promise<Map<string, FileState>> {
    const { select, read } = this.filesOf(callbacks);
    return select ? read(await this.db.query(em, select)) : new Map();
  }
}
