import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { parseRecordingCallback } from '../protocol/parse-callback';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { WriteTransactions } from '../tasks/write-transactions';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import { retryDelay } from './backoff';
import { reviveContext } from './delivery-context';
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

interface DeliveryRow {
  id: number;
  callbackId: number | null;
  taskId: string;
  eventType: string;
  attempts: number;
  succeeded: string[];
  context: unknown;
}

const OPEN = `status IN ('pending', 'failed')`;

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
 * worker.kick(taskId); // right after the callback's transaction committed
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Lease owner name of this process. */
  readonly instanceId = randomUUID();
  private readonly logger = new Logger('RecordingDelivery');
  private readonly draining = new Map<string, { again: boolean; done: Promise<void> }>();
  private timer?: NodeJS.Timeout;
  private started = false;
  private stopping = false;

  constructor(
    private readonly writes: WriteTransactions,
    private readonly registry: RecordingHandlerRegistry,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
    private readonly telemetry: RecordingTelemetry,
  ) {}

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
      .run((em) =>
        this.writes.rows(em, `UPDATE recording_deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?`, [
          this.instanceId,
        ]),
      )
      .catch((e) => this.logger.warn(`could not release leases on shutdown: ${errorText(e)}`));
  }

  /** Starts (or continues) delivering a task's open deliveries in order; returns when none is claimable. */
  kick(taskId: string): Promise<void> {
    if (!this.started || this.stopping) return Promise.resolve();
    const current = this.draining.get(taskId);
    if (current) {
      current.again = true;
      return current.done;
    }
    const state = { again: false, done: Promise.resolve() };
    state.done = this.drain(taskId, state).finally(() => this.draining.delete(taskId));
    this.draining.set(taskId, state);
    return state.done;
  }

  /** Looks for due retries, replays and abandoned leases, and drains their tasks. */
  async poll(): Promise<void> {
    if (!this.started || this.stopping) return;
    try {
      const now = this.options.now();
      const due = await this.writes.run((em) =>
        this.writes.rows<{ task_id: string }>(
          em,
          `SELECT DISTINCT task_id FROM recording_deliveries WHERE ${OPEN} AND next_attempt_at <= ?
           AND (lease_until IS NULL OR lease_until < ?) LIMIT 100`,
          [now, now],
        ),
      );
      await Promise.all(due.map((r) => this.kick(r.task_id)));
    } catch (e) {
      this.logger.warn(`delivery poll failed (will retry): ${errorText(e)}`);
    }
  }

  private async drain(taskId: string, state: { again: boolean }): Promise<void> {
    try {
      for (;;) {
        if (this.stopping) return;
        state.again = false;
        const row = await this.claim(taskId);
        if (row) await this.deliver(row);
        else if (!state.again) return;
      }
    } catch (e) {
      // The database failed: the poll picks the task up again later.
      this.logger.warn(`delivery of task ${taskId} interrupted: ${errorText(e)}`);
    }
  }

  private async claim(taskId: string): Promise<DeliveryRow | undefined> {
    const now = this.options.now();
    const rows = await this.writes.run((em) =>
      this.writes.rows(
        em,
        // Only the oldest open delivery of the task may be claimed, and only when it is due and not
        // leased: this keeps per-task order across instances. The outer conditions are re-checked by the
        // database against the current row, which makes the claim atomic.
        `UPDATE recording_deliveries SET lease_owner = ?, lease_until = ?, updated_at = ?
         WHERE id = (SELECT id FROM recording_deliveries WHERE task_id = ? AND ${OPEN} ORDER BY id LIMIT 1)
           AND ${OPEN} AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
         RETURNING *`,
        [this.instanceId, now + this.options.delivery.leaseMs, now, taskId, now, now],
      ),
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  private async payloads(row: DeliveryRow, attempt: number): Promise<Array<[string, unknown]>> {
    const context = reviveContext(row.context);
    if (row.callbackId === null) {
      return [[RecordingEvents.Stalled, new TaskStalledEvent(row.taskId, context.task, context.at, attempt)]];
    }
    const stored = await this.writes.run((tx) =>
      this.writes.rows<{ payload: unknown }>(tx, `SELECT payload FROM recording_callbacks WHERE id = ?`, [row.callbackId]),
    );
    const raw = stored[0]?.payload;
    const parsed = parseRecordingCallback(typeof raw === 'string' ? JSON.parse(raw) : raw);
    if (!parsed.ok) throw new Error(`stored callback ${row.callbackId} no longer validates: ${Object.keys(parsed.fields).join(', ')}`);
    const events: Array<[string, unknown]> = [
      [EVENT_NAME_BY_TYPE[parsed.dto.event_type], createCallbackEvent(row.callbackId, parsed.dto, context.task, context.file, attempt)],
    ];
    if (context.transition) {
      events.push([
        RecordingEvents.StatusChanged,
        new TaskStatusChangedEvent(row.callbackId, context.transition, context.task, context.at, attempt),
      ]);
    }
    return events;
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
            await handler.invoke(payload);
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
    const updated = await this.writes.run((em) =>
      this.writes.rows(
        em,
        `UPDATE recording_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
           succeeded_handlers = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
         WHERE id = ? AND lease_owner = ? RETURNING id`,
        [status, attempt, next, lastError ?? null, JSON.stringify(succeeded), now, row.id, this.instanceId],
      ),
    );
    if (updated.length === 0) {
      this.logger.warn(`delivery ${row.id}: lease was lost before the outcome was recorded; it will run again`);
      return undefined;
    }
    if (status === 'dead') {
      this.logger.error(`delivery ${row.id} (callback ${row.callbackId ?? '-'}, task ${row.taskId}) is dead after ${attempt} attempts`);
      const dead = new DeliveryDeadEvent(row.id, row.callbackId, row.taskId, row.eventType, attempt, lastError ?? '');
      for (const handler of this.registry.handlersOf(RecordingEvents.DeliveryDead)) {
        await handler.invoke(dead).catch((e) => this.logger.error(`handler ${handler.id} of ${RecordingEvents.DeliveryDead} failed: ${errorText(e)}`));
      }
    }
    return status as Exclude<DeliveryStatus, 'pending'>;
  }
}
