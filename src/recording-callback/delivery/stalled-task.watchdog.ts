import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { LessThan, IsNull } from 'typeorm';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { RecordingTaskEntity } from '../tasks/recording-task.entity';
import type { TaskState } from '../tasks/task-state.reducer';
import { TaskStatus } from '../tasks/task-status';
import { WriteTransactions } from '../tasks/write-transactions';
import type { DeliveryContext } from './delivery-context';
import { DeliveryWorker } from './delivery-worker.service';
import type { StoredDelivery } from './delivery-worker.service';

/** Advisory lock key, so that only one PostgreSQL instance runs a check at a time. */
const WATCHDOG_LOCK = 727_465_301;

/**
 * Flags RECORDING tasks that had no callback for `watchdog.stallAfterSeconds`: sets `stalledAt` and
 * stores a `recording.stalled` delivery, once per stall (the task's next callback clears `stalledAt`).
 * The flag is a conditional UPDATE in the same transaction as the delivery, so even two instances
 * checking at once flag a task once; on PostgreSQL an advisory lock also keeps the checks apart.
 *
 * @example
 * await watchdog.check(); // what the timer runs every `watchdog.checkIntervalMs`
 */
@Injectable()
export class StalledTaskWatchdog implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RecordingWatchdog');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly writes: WriteTransactions,
    private readonly worker: DeliveryWorker,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.options.watchdog.checkIntervalMs;
    if (every > 0) {
      this.timer = setInterval(
        () => void this.check().catch((e) => this.logger.warn(`stall check failed: ${e}`)),
        every,
      );
      this.timer.unref();
    }
  }

  beforeApplicationShutdown(): void {
    // Before the DataSource closes (onApplicationShutdown), so no check starts on a closing database.
    clearInterval(this.timer);
  }

  /** Runs one check; returns the ids of the tasks it flagged. */
  async check(): Promise<string[]> {
    const now = this.options.now();
    const cutoff = new Date(now - this.options.watchdog.stallAfterSeconds * 1000);
    // Built inside the work, which SQLite may run again alone after a shared batch rolled back.
    const stalled = await this.writes.run(async (em): Promise<Array<{ taskId: string; stored: StoredDelivery }>> => {
      if (this.writes.concurrent) {
        const [lock] = await this.writes.rows<{ ok: boolean }>(em, 'SELECT pg_try_advisory_xact_lock(?) AS ok', [
          WATCHDOG_LOCK,
        ]);
        if (!lock?.ok) return [];
      }
      const tasks = em.getRepository(RecordingTaskEntity);
      const candidates = await tasks.find({
        where: { status: TaskStatus.Recording, stalledAt: IsNull(), lastEventAt: LessThan(cutoff) },
        order: { lastEventAt: 'ASC' },
        take: 500,
      });
      const out: Array<{ taskId: string; stored: StoredDelivery }> = [];
      for (const t of candidates) {
        // Re-checked in the UPDATE: a callback that arrived meanwhile wins and the task is not flagged.
        const result = await tasks.update(
          { taskId: t.taskId, status: TaskStatus.Recording, stalledAt: IsNull(), lastEventAt: LessThan(cutoff) },
          { stalledAt: new Date(now) },
        );
        if (!result.affected) continue;
        const task: TaskState = {
          taskId: t.taskId,
          projectId: t.projectId,
          publishDomain: t.publishDomain,
          app: t.app,
          stream: t.stream,
          recordFormat: t.recordFormat,
          status: TaskStatus.Recording,
          errorMessage: t.errorMessage,
          lastEventType: t.lastEventType!,
          lastEventAt: t.lastEventAt!,
        };
        const context: DeliveryContext = { task, file: null, transition: null, at: new Date(now) };
        const stored = await this.worker.store(em, {
          callbackId: null,
          taskId: t.taskId,
          eventType: 'STALLED',
          context,
        });
        out.push({ taskId: t.taskId, stored });
      }
      return out;
    });
    const flagged = stalled.map((s) => s.taskId);
    if (flagged.length)
      this.logger.warn(`${flagged.length} recording task(s) stalled: ${flagged.slice(0, 10).join(', ')}`);
    await Promise.all(stalled.map((s) => this.worker.handOver(s.taskId, s.stored)));
    return flagged;
  }
}
