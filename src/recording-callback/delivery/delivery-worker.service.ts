import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { randomUUID } from 'node:crypto';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { parseRecordingCallback } from '../protocol/parse-callback';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { WriteTransactions } from '../tasks/write-transactions';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import { retryDelay } from './backoff';
import { reviveContext } from './delivery-context';
import type { DeliveryContext } from './delivery-context';
import type { DeliveryStatus } from './delivery.entity';
import { RecordingHandlerRegistry } from './recording-handler.registry';
import {
  DeliveryDeadEvent,
  EVENT_NAME_BY_TYPE,
  RecordingEvents,
  TaskStalledEvent,
  TaskStatusChangedEvent,
  createCallbackEvent,
} from './recording-events';

/**
 * A delivery claimed by this instance, ready to run.
 *
 * @example
 * const stored = await worker.store(em, delivery); // stored.state === 'claimed': stored.row
 */
export interface DeliveryRow {
  id: number;
  callbackId: number | null;
  taskId: string;
  eventType: string;
  attempts: number;
  succeeded: string[];
  context: unknown;
  /** The validated callback when it is still in memory (the fast path right after ingest). */
  callback?: RecordingCallbackDto;
}

/**
 * What {@link DeliveryWorker.store} records: a callback (or, with `callbackId` null, a stall notice).
 *
 * @example
 * await worker.store(em, { callbackId, taskId, eventType: 'RECORD_OVER', context });
 */
export interface NewDelivery {
  callbackId: number | null;
  taskId: string;
  eventType: string;
  context: DeliveryContext;
  callback?: RecordingCallbackDto;
}

/**
 * What {@link DeliveryWorker.store} did with a delivery: claimed it for this instance (to run right after
 * commit), left it pending (a task loop or the poll runs it later), or recorded it as delivered because
 * no handler listens to its events.
 *
 * @example
 * const stored = await worker.store(em, delivery); // inside the transaction
 * void worker.handOver(taskId, stored); // after commit
 */
export type StoredDelivery = { state: 'claimed'; row: DeliveryRow } | { state: 'pending' } | { state: 'delivered' };

const OPEN = `status IN ('pending', 'failed')`;

/** lease_owner and lease_until of a new delivery: this instance's lease, unless the task has an open delivery. */
const CLAIM_IF_NONE_OPEN = ['CAST(? AS VARCHAR(64))', 'CAST(? AS BIGINT)']
  .map(
    (value) =>
      `CASE WHEN EXISTS (SELECT 1 FROM recording_deliveries WHERE task_id = ? AND ${OPEN}) THEN NULL ELSE ${value} END`,
  )
  .join(', ');

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

/** Counting semaphore: at most `size` claims or deliveries run at once in this process. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** Rejects when `work` takes longer than `ms`; the work itself cannot be stopped, only abandoned. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`handler timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function toRow(r: Record<string, unknown>): DeliveryRow {
  const succeeded = r.succeeded_handlers;
  return {
    id: Number(r.id),
    callbackId: r.callback_id === null ? null : Number(r.callback_id),
    taskId: String(r.task_id),
    eventType: String(r.event_type),
    attempts: Number(r.attempts),
    succeeded: (typeof succeeded === 'string' ? JSON.parse(succeeded) : succeeded) as string[],
    context: r.context,
  };
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 2000);

/**
 * Hands stored deliveries to the app's handlers, at least once per handler, in stored order per task.
 *
 * A delivery is claimed with a lease by a conditional UPDATE of the oldest open delivery of its task, so
 * two instances never run it at once and a task's deliveries never overtake each other; a crashed
 * instance's lease expires and another takes over. Failed handlers are retried with exponential backoff
 * and jitter, skipping handlers that already succeeded; after `maxAttempts` the delivery is dead.
 *
 * @example
 * const stored = await worker.store(em, delivery); // in the callback's transaction
 * void worker.handOver(taskId, stored); // right after it committed
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Lease owner name of this process. */
  readonly instanceId = randomUUID();
  private readonly logger = new Logger('RecordingDelivery');
  private readonly draining = new Map<string, DrainState>();
  private readonly slots: Slots;
  private timer?: NodeJS.Timeout;
  private started = false;
  private stopping = false;

  constructor(
    private readonly writes: WriteTransactions,
    private readonly registry: RecordingHandlerRegistry,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
    private readonly telemetry: RecordingTelemetry,
  ) {
    this.slots = new Slots(options.delivery.concurrency);
  }

  onApplicationBootstrap(): void {
    // Listeners exist only now; deliveries stored before (or by a previous run) start here.
    this.registry.scan();
    this.started = true;
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
    await this.writes
      .single(`UPDATE recording_deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?`, [
        this.instanceId,
      ])
      .catch((e) => this.logger.warn(`could not release leases on shutdown: ${errorText(e)}`));
  }

  /**
   * Records a delivery inside the caller's transaction. When no handler listens to its events it is
   * recorded as delivered at once. When it is the only open delivery of its task, it is claimed for
   * this instance in the same statement (saving a claim transaction); otherwise it waits its turn behind
   * the task's older deliveries. Pass the result to {@link handOver} after commit.
   */
  async store(em: EntityManager, d: NewDelivery): Promise<StoredDelivery> {
    const w = this.writes;
    const now = d.context.at.getTime();
    const events =
      d.callbackId === null
        ? [RecordingEvents.Stalled]
        : [
            EVENT_NAME_BY_TYPE[d.eventType as keyof typeof EVENT_NAME_BY_TYPE],
            ...(d.context.transition ? [RecordingEvents.StatusChanged] : []),
          ];
    const listened = this.started && events.some((e) => this.registry.handlersOf(e).length > 0);
    const status: DeliveryStatus = this.started && !listened ? 'delivered' : 'pending';
    // Claimed for this instance in the same statement when no other delivery of the task is open. When
    // this instance already holds as many task loops as it should, the delivery stays unclaimed in the
    // database (the poll takes it later) instead of waiting in memory: a sustained burst then grows the
    // backlog table, not the heap.
    const claim = status === 'pending' && this.started && !this.stopping && !this.saturated();
    const leaseUntil = now + this.options.delivery.leaseMs;
    const [row] = await w.rows<{ id: number; lease_owner: string | null }>(
      em,
      `INSERT INTO recording_deliveries (callback_id, task_id, event_type, status, attempts, next_attempt_at, lease_owner,
         lease_until, last_error, succeeded_handlers, context, created_at, updated_at)
       VALUES (?, ?, ?, ?, 0, ?, ${claim ? CLAIM_IF_NONE_OPEN : 'NULL, NULL'}, NULL, '[]', ?, ?, ?)
       RETURNING id, lease_owner`,
      [
        d.callbackId,
        d.taskId,
        d.eventType,
        status,
        now,
        ...(claim ? [d.taskId, this.instanceId, d.taskId, leaseUntil] : []),
        JSON.stringify(d.context),
        now,
        now,
      ],
    );
    const lease = row.lease_owner;
    if (status === 'delivered') return { state: 'delivered' };
    if (!lease) return { state: 'pending' };
    const { callbackId, taskId, eventType, context, callback } = d;
    return {
      state: 'claimed',
      row: { id: Number(row.id), callbackId, taskId, eventType, attempts: 0, succeeded: [], context, callback },
    };
  }

  /**
   * After the commit of {@link store}'s transaction: runs a claimed delivery, or wakes the task's loop
   * for a pending one. A delivery recorded as delivered needs nothing, so a callback nobody listens to
   * costs no claim (starting a loop for it would also crowd real work out of the loop limit).
   *
   * @example
   * void worker.handOver(taskId, stored);
   */
  handOver(taskId: string, stored: StoredDelivery): Promise<void> {
    if (stored.state === 'delivered') return Promise.resolve();
    return this.kick(taskId, stored.state === 'claimed' ? stored.row : undefined);
  }

  /**
   * Starts (or continues) delivering a task's open deliveries in order, beginning with `claimed` when
   * {@link store} claimed one after commit; returns when none is claimable.
   */
  kick(taskId: string, claimed?: DeliveryRow): Promise<void> {
    if (!this.started || this.stopping) return Promise.resolve();
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
    if (!this.started || this.stopping) return;
    try {
      const now = this.options.now();
      // Only a task's oldest open delivery can run, so only those are looked at: a task held back by a
      // delivery in backoff must not crowd out one that is ready.
      const due = await this.writes.read((em) =>
        this.writes.rows<{ task_id: string }>(
          em,
          `SELECT d.task_id FROM recording_deliveries d
           WHERE d.${OPEN} AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until < ?)
             AND d.id = (SELECT MIN(o.id) FROM recording_deliveries o WHERE o.task_id = d.task_id AND o.${OPEN})
           ORDER BY d.next_attempt_at LIMIT 100`,
          [now, now],
        ),
      );
      const runs = due.map((r) => this.kick(r.task_id));
      // A full page means more is due: look again as soon as these are under way, not a poll interval later.
      if (due.length === 100 && !this.saturated()) setImmediate(() => void this.poll());
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
        const row = state.claimed.shift() ?? (await this.slots.use(() => this.claim(taskId)));
        if (row) await this.slots.use(() => this.deliver(row));
        else state.idle = true;
      }
    } catch (e) {
      this.draining.delete(taskId);
      // The database failed: free what this loop held, so the poll (here or elsewhere) picks it up later.
      const held = state.claimed.splice(0).map((r) => r.id);
      this.logger.warn(`delivery of task ${taskId} interrupted: ${errorText(e)}`);
      if (held.length) await this.release(held).catch(() => undefined);
    }
  }

  /** True when this instance runs as many task loops as it should hold in memory. */
  private saturated(): boolean {
    return this.draining.size >= this.options.delivery.concurrency * 4;
  }

  private async release(ids: number[]): Promise<void> {
    await this.writes.single(
      `UPDATE recording_deliveries SET lease_owner = NULL, lease_until = NULL
       WHERE lease_owner = ? AND id IN (${ids.map(() => '?').join(', ')})`,
      [this.instanceId, ...ids],
    );
  }

  private async claim(taskId: string): Promise<DeliveryRow | undefined> {
    const now = this.options.now();
    const w = this.writes;
    const rows = await w.run(async (em) => {
      // On PostgreSQL, claims of a task queue on its row lock (as its callbacks do), so the check for
      // another running delivery below cannot race with a claim on another instance.
      if (w.concurrent) await w.rows(em, 'SELECT task_id FROM recording_tasks WHERE task_id = ? FOR UPDATE', [taskId]);
      return w.rows(
        em,
        // Only the oldest open delivery of the task may be claimed, only when it is due and not leased,
        // and only while no other delivery of the task runs (a replayed older one must wait for a later
        // one still running). The database re-checks the conditions against the current row.
        `UPDATE recording_deliveries SET lease_owner = ?, lease_until = ?, updated_at = ?
         WHERE id = (SELECT id FROM recording_deliveries WHERE task_id = ? AND ${OPEN} ORDER BY id LIMIT 1)
           AND ${OPEN} AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
           AND NOT EXISTS (SELECT 1 FROM recording_deliveries other
                           WHERE other.task_id = ? AND other.lease_until >= ? AND other.id <> recording_deliveries.id)
         RETURNING *`,
        [this.instanceId, now + this.options.delivery.leaseMs, now, taskId, now, now, taskId, now],
      );
    });
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  private async payloads(row: DeliveryRow, attempt: number): Promise<Array<[string, unknown]>> {
    const context = reviveContext(row.context);
    if (row.callbackId === null) {
      return [[RecordingEvents.Stalled, new TaskStalledEvent(row.taskId, context.task, context.at, attempt)]];
    }
    const dto = row.callback ?? (await this.loadCallback(row.callbackId));
    const events: Array<[string, unknown]> = [
      [
        EVENT_NAME_BY_TYPE[dto.event_type],
        createCallbackEvent(row.callbackId, dto, context.task, context.file, attempt),
      ],
    ];
    if (context.transition) {
      events.push([
        RecordingEvents.StatusChanged,
        new TaskStatusChangedEvent(row.callbackId, context.transition, context.task, context.at, attempt),
      ]);
    }
    return events;
  }

  private async loadCallback(callbackId: number): Promise<RecordingCallbackDto> {
    const stored = await this.writes.read((tx) =>
      this.writes.rows<{ payload: unknown }>(tx, `SELECT payload FROM recording_callbacks WHERE id = ?`, [callbackId]),
    );
    const parsed = parseRecordingCallback(this.writes.readJson(stored[0]?.payload));
    if (!parsed.ok)
      throw new Error(`stored callback ${callbackId} no longer validates: ${Object.keys(parsed.fields).join(', ')}`);
    return parsed.dto;
  }

  private async deliver(row: DeliveryRow): Promise<void> {
    const started = performance.now();
    const attempt = row.attempts + 1;
    const succeeded = new Set(row.succeeded);
    const errors: string[] = [];
    try {
      for (const [event, payload] of await this.payloads(row, attempt)) {
        for (const handler of this.registry.handlersOf(event)) {
          const id = `${handler.id}@${event}`;
          if (succeeded.has(id)) continue;
          try {
            await within(this.options.delivery.handlerTimeoutMs, handler.invoke(payload));
            succeeded.add(id);
          } catch (e) {
            errors.push(`${id}: ${errorText(e)}`);
            this.logger.error(
              `handler ${id} failed for callback ${row.callbackId ?? '-'} (task ${row.taskId}, delivery ${row.id}, attempt ${attempt}): ${errorText(e)}`,
            );
          }
        }
      }
    } catch (e) {
      errors.push(errorText(e));
    }
    const outcome = await this.finish(row, attempt, [...succeeded], errors);
    if (outcome) {
      this.telemetry.delivery({
        deliveryId: row.id,
        callbackId: row.callbackId,
        taskId: row.taskId,
        eventType: row.eventType,
        outcome,
        attempt,
        durationMs: performance.now() - started,
      });
    }
  }

  /** Records the attempt's outcome; returns the new status, or undefined when the lease was lost. */
  private async finish(
    row: DeliveryRow,
    attempt: number,
    succeeded: string[],
    errors: string[],
  ): Promise<Exclude<DeliveryStatus, 'pending'> | undefined> {
    const now = this.options.now();
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.options.delivery;
    let status: DeliveryStatus = 'delivered';
    let next = now;
    if (errors.length) {
      status = attempt >= maxAttempts ? 'dead' : 'failed';
      next = now + retryDelay(attempt, baseDelayMs, maxDelayMs, Math.random);
    }
    const lastError = errors.length ? errors.join('; ').slice(0, 4000) : null;
    const updated = await this.writes.single(
      `UPDATE recording_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
         succeeded_handlers = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
       WHERE id = ? AND lease_owner = ? RETURNING id`,
      [status, attempt, next, lastError ?? null, JSON.stringify(succeeded), now, row.id, this.instanceId],
    );
    if (updated.length === 0) {
      this.logger.warn(`delivery ${row.id}: lease was lost before the outcome was recorded; it will run again`);
      return undefined;
    }
    if (status === 'dead') {
      this.logger.error(
        `delivery ${row.id} (callback ${row.callbackId ?? '-'}, task ${row.taskId}) is dead after ${attempt} attempts`,
      );
      const dead = new DeliveryDeadEvent(row.id, row.callbackId, row.taskId, row.eventType, attempt, lastError ?? '');
      for (const handler of this.registry.handlersOf(RecordingEvents.DeliveryDead)) {
        await handler
          .invoke(dead)
          .catch((e) =>
            this.logger.error(`handler ${handler.id} of ${RecordingEvents.DeliveryDead} failed: ${errorText(e)}`),
          );
      }
    }
    return status as Exclude<DeliveryStatus, 'pending'>;
  }
}
