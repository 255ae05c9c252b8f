import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DeliveryOutbox } from '../delivery/delivery-outbox';
import { RECOVERED_EVENT_TYPE } from '../delivery/recording-events';
import { DatabaseGateway } from '../storage/database.gateway';
import { FileStatus } from '../tasks/task-status';
import type { FileState, TaskState } from '../tasks/task-state.reducer';
import { toTaskState } from '../tasks/task.store';
import type { TaskRecord } from '../tasks/task.store';
import type { KnownTask, Recovery, StoredFileRef } from './reconcile-plan';
import { reconcileSql } from './reconcile.sql';
import type { StreamRef } from './reconcile.sql';

/**
 * Reads what matching needs and stores recovered files. Each recovered file is stored in its own
 * transaction together with its `recording.file.recovered` delivery (the outbox), so a file is
 * delivered exactly when it is stored; its unique recovery key makes a second store (another instance,
 * a later run) a no-op that delivers nothing.
 *
 * @example
 * const stored = await store.recover(recovery, runId, now); // false: someone stored it first
 */
@Injectable()
export class RecoveryStore {
  constructor(
    private readonly db: DatabaseGateway,
    private readonly outbox: DeliveryOutbox,
  ) {}

  /** The tasks and files of the given streams that may match a window starting at `since`. */
  async streamState(streams: StreamRef[], since: Date): Promise<{ tasks: KnownTask[]; files: StoredFileRef[] }> {
    const { time, readTime } = this.db.dialect;
    // A day of slack: a task or file that began before the window may still own files listed in it.
    const from = time(new Date(since.getTime() - 86_400_000));
    return this.db.read(async (em) => {
      const tasks: KnownTask[] = [];
      const files: StoredFileRef[] = [];
      for (const s of streams) {
        for (const r of await this.db.query(em, reconcileSql.tasksOfStream(s, from))) {
          tasks.push({
            taskId: String(r.taskId),
            publishDomain: String(r.publishDomain),
            app: String(r.app),
            stream: String(r.stream),
            status: String(r.status),
            createdAt: readTime(r.createdAt)!,
            lastEventAt: readTime(r.lastEventAt),
            stalledAt: readTime(r.stalledAt),
          });
        }
        for (const r of await this.db.query(em, reconcileSql.filesOfStream(s, from))) {
          files.push({
            taskId: String(r.taskId),
            jobId: String(r.jobId),
            recordFormat: String(r.recordFormat),
            downloadUrl: (r.downloadUrl as string | null) ?? null,
            startTime: readTime(r.startTime),
            endTime: readTime(r.endTime),
            recoveryKey: (r.recoveryKey as string | null) ?? null,
          });
        }
      }
      return { tasks, files };
    });
  }

  /** Stores one recovered file and its delivery; false when it was already stored. */
  async recover(r: Recovery, runId: number, now: Date): Promise<boolean> {
    const stored = await this.db.transaction(async (em) => {
      const task = await this.taskOf(em, r, now);
      const file: FileState = {
        jobId: r.jobId,
        recordFormat: r.recordFormat,
        status: FileStatus.Complete,
        downloadUrl: r.item.download_url || null,
        assetId: null,
        fileSize: null,
        recordDuration: typeof r.item.duration === 'number' ? Math.trunc(r.item.duration) : null,
        startTime: r.startTime,
        endTime: r.endTime,
        width: null,
        height: null,
      };
      const { time } = this.db.dialect;
      const [inserted] = await this.db.query(
        em,
        reconcileSql.insertRecoveredFile(
          { ...file, taskId: task.taskId, recoveryKey: r.recoveryKey },
          { startTime: time(file.startTime), endTime: time(file.endTime), at: time(now) },
          file.recordDuration,
        ),
      );
      if (!inserted) return null;
      const recovered = { item: r.item, recoveryKey: r.recoveryKey, runId, synthetic: r.synthetic };
      return this.outbox.store(em, {
        callbackId: null,
        taskId: task.taskId,
        eventType: RECOVERED_EVENT_TYPE,
        context: { task, file, transition: null, at: now, recovered },
      });
    });
    if (!stored) return false;
    void this.outbox.handOver(stored);
    return true;
  }

  private async taskOf(em: EntityManager, r: Recovery, now: Date): Promise<TaskState> {
    const { time, readTime } = this.db.dialect;
    const stream = { publishDomain: r.item.publish_domain, app: r.item.app, stream: r.item.stream };
    const [row] = r.synthetic
      ? await this.db.query<TaskRecord>(
          em,
          reconcileSql.upsertSyntheticTask(
            { ...stream, taskId: r.taskId, recordFormat: r.recordFormat },
            time(r.endTime ?? r.startTime ?? now),
            time(now),
          ),
        )
      : await this.db.query<TaskRecord>(em, reconcileSql.taskState(r.taskId));
    const state = row && toTaskState({ ...row, lastEventAt: readTime(row.lastEventAt) });
    if (!state) throw new Error(`task ${r.taskId} of a recovered file cannot be read`);
    return state;
  }
}
