import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { taskSql } from '../tasks/task.sql';
import { DatabaseGateway } from '../storage/database.gateway';
import { DeliveryRunner, errorText } from './delivery-runner';
import { deliverySql, toDeliveryRow } from './delivery.sql';
import type { DeliveryRow } from './delivery.sql';
import { RecordingHandlerRegistry } from './recording-handler.registry';
import { Slots } from './slots';

/** Tasks the poll takes per page; a full page makes it look again at once. */
const POLL_PAGE = 100;

/** One task's delivery loop in this process. */
interface DrainState {
  /** Set by kick(): look once more before stopping. */
  again: boolean;
  /** The last claim found nothing. */
  idle: boolean;
  /** Deliveries claimed at ingest, to run before claiming more. */
  claimed: DeliveryRow[];
  done: Promise<void>;
}

/**
 * Decides when deliveries run in this instance: one loop per task that runs its deliveries in stored
 * order (claiming each with a lease by a conditional UPDATE, so two instances never run one at once and
 * a crashed instance's lease expires), a poll for due retries, replays and abandoned leases, at most
 * `delivery.concurrency` claims and runs at once, and a graceful shutdown that lets running deliveries
 * finish within `shutdownGraceMs` and frees the leases of the rest.
 *
 * @example
 * void scheduler.kick(taskId); // after a replay made one of the task's deliveries due
 */
@Injectable()
export class DeliveryScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Lease owner name of this process. */
  readonly instanceId = randomUUID();
  private readonly logger = new Logger('RecordingDelivery');
  private readonly draining = new Map<string, DrainState>();
  private readonly slots: Slots;
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopping = false;

  constructor(
    private readonly db: DatabaseGateway,
    private readonly runner: DeliveryRunner,
    private readonly registry: RecordingHandlerRegistry,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {
    this.slots = new Slots(options.delivery.concurrency);
  }

  /** True once listeners are known and until shutdown begins: deliveries may be claimed and run. */
  get accepting(): boolean {
    return this.running && !this.stopping;
  }

  /** True once the app has started (listeners are known), also while shutting down. */
  get started(): boolean {
    return this.running;
  }

  /** True when this instance runs as many task loops as it should hold in memory. */
  saturated(): boolean {
    return this.room() === 0;
  }

  /** How many more task loops this instance may start before it holds as many as it should. */
  room(): number {
    return Math.max(0, this.options.delivery.concurrency * 4 - this.draining.size);
  }

  onApplicationBootstrap(): void {
    // A process that runs no deliveries (delivery.run false) leaves them all to the other instances.
    if (!this.options.delivery.run) return;
    // Listeners exist only now; deliveries stored before (or by a previous run) start here.
    this.registry.scan();
    this.running = true;
    const every = this.options.delivery.pollIntervalMs;
    if (every > 0) {
      this.timer = setInterval(() => void this.poll(), every);
      this.timer.unref();
    }
    void this.poll();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    const running = Promise.all([...this.draining.values()].map((d) => d.done));
    const grace = new Promise((resolve) => setTimeout(resolve, this.options.delivery.shutdownGraceMs).unref());
    await Promise.race([running, grace]);
    // Whatever is still running is abandoned: free its leases so another instance takes over at once.
    await this.db
      .execute(deliverySql.releaseAll(this.instanceId))
      .catch((e) => this.logger.warn(`could not release leases on shutdown: ${errorText(e)}`));
  }

  /**
   * Starts (or continues) delivering a task's open deliveries in order, beginning with `claimed` when
   * the outbox claimed one at ingest; returns when none is claimable.
   */
  kick(taskId: string, claimed?: DeliveryRow): Promise<void> {
    if (!this.accepting) return Promise.resolve();
    const current = this.draining.get(taskId);
    if (current) {
      current.again = true;
      if (claimed) current.claimed.push(claimed);
      return current.done;
    }
    // Saturated: the poll starts this task later, from the database.
    if (!claimed && this.saturated()) return Promise.resolve();
    const state: DrainState = { again: true, idle: false, claimed: claimed ? [claimed] : [], done: Promise.resolve() };
    this.draining.set(taskId, state);
    state.done = this.drain(taskId, state);
    return state.done;
  }

  /** Looks for due retries, replays and abandoned leases, and drains their tasks. */
  async poll(): Promise<void> {
    if (!this.accepting) return;
    try {
      const now = this.options.now();
      const due = await this.db.read((em) =>
        this.db.query<{ task_id: string }>(em, deliverySql.dueTasks(now, POLL_PAGE)),
      );
      const runs = due.map((r) => this.kick(r.task_id));
      // A full page means more is due: look again as soon as these are under way, not a poll interval later.
      if (due.length === POLL_PAGE && !this.saturated()) setImmediate(() => void this.poll());
      await Promise.all(runs);
    } catch (e) {
      this.logger.warn(`delivery poll failed (will retry): ${errorText(e)}`);
    }
  }

  private async drain(taskId: string, state: DrainState): Promise<void> {
    try {
      for (;;) {
        // Deciding to stop and leaving the map happen in one synchronous step, so a kick() can never
        // hand a claimed delivery to a loop that has already ended.
        const finished = !state.again && state.idle;
        if (!state.claimed.length && (this.stopping || finished)) {
          this.draining.delete(taskId);
          return;
        }
        state.again = false;
        state.idle = false;
        const handedOver = state.claimed.shift();
        const row = handedOver ?? (await this.slots.use(() => this.claim(taskId)));
        if (row) await this.slots.use(() => this.runner.run(row, this.instanceId));
        else state.idle = true;
        // A delivery claimed at ingest was the task's only open one. Unless a callback of the task arrived
        // since (a kick) the loop ends without the claim that would find nothing (a transaction of four
        // round trips); what another instance stored meanwhile, or a retry, the poll takes.
        if (handedOver && !state.again && !state.claimed.length && this.options.delivery.pollIntervalMs > 0) {
          state.idle = true;
        }
      }
    } catch (e) {
      this.draining.delete(taskId);
      // The database failed: free what this loop held, so the poll (here or elsewhere) picks it up later.
      const held = state.claimed.splice(0).map((r) => r.id);
      this.logger.warn(`delivery of task ${taskId} interrupted: ${errorText(e)}`);
      if (held.length) await this.db.execute(deliverySql.release(this.instanceId, held)).catch(() => undefined);
    }
  }

  private async claim(taskId: string): Promise<DeliveryRow | undefined> {
    const now = this.options.now();
    const rows = await this.db.transaction(async (em) => {
      // Where writers run concurrently, claims of a task queue on its row lock (as its callbacks do), so
      // the check for another running delivery in the claim cannot race with a claim on another instance.
      await this.db.lock(em, taskSql.selectTaskId(taskId));
      return this.db.query(
        em,
        deliverySql.claimNext(taskId, this.instanceId, now, now + this.options.delivery.leaseMs),
      );
    });
    return rows[0] ? toDeliveryRow(rows[0], this.db.dialect) : undefined;
  }
}
