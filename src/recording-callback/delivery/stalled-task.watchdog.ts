import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { TaskStore } from '../tasks/task.store';
import { DatabaseGateway } from '../storage/database.gateway';
import { DeliveryOutbox } from './delivery-outbox';
import type { StoredDelivery } from './delivery-outbox';

/** Advisory lock key, so that only one PostgreSQL instance runs a check at a time. */
const WATCHDOG_LOCK = 727_465_301;
/** Most tasks one check flags. */
const CHECK_LIMIT = 500;

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
    private readonly db: DatabaseGateway,
    private readonly tasks: TaskStore,
    private readonly outbox: DeliveryOutbox,
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
    const now = new Date(this.options.now());
    const cutoff = new Date(now.getTime() - this.options.watchdog.stallAfterSeconds * 1000);
    // Built inside the work, which SQLite may run again alone after a shared batch rolled back.
    const stalled = await this.db.transaction(
      async (em): Promise<Array<{ taskId: string; stored: StoredDelivery }>> => {
        if (!(await this.db.tryAdvisoryLock(em, WATCHDOG_LOCK))) return [];
        const out: Array<{ taskId: string; stored: StoredDelivery }> = [];
        for (const task of await this.tasks.flagStalled(em, cutoff, now, CHECK_LIMIT)) {
          const context = { task, file: null, transition: null, at: now };
          const stored = await this.outbox.store(em, {
            callbackId: null,
            taskId: task.taskId,
            eventType: 'STALLED',
            context,
          });
          out.push({ taskId: task.taskId, stored });
        }
        return out;
      },
    );
    const flagged = stalled.map((s) => s.taskId);
    if (flagged.length)
      this.logger.warn(`${flagged.length} recording task(s) stalled: ${flagged.slice(0, 10).join(', ')}`);
    await Promise.all(stalled.map((s) => this.outbox.handOver(s.stored)));
    return flagged;
  }
}
