import { Injectable, Logger } from '@nestjs/common';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { parseRecordingCallback } from '../protocol/parse-callback';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { DatabaseGateway } from '../storage/database.gateway';
import type { Batched } from '../storage/database.gateway';
import type { BatchLimits } from '../storage/transaction-batcher';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import { retryDelay } from './backoff';
import { reviveContext } from './delivery-context';
import type { DeliveryStatus } from './delivery.entity';
import { deliverySql } from './delivery.sql';
import type { DeliveryOutcomeRow, DeliveryRow } from './delivery.sql';
import { storedCallbackSql } from './stored-callback.sql';
import { RecordingHandlerRegistry } from './recording-handler.registry';
import {
  DeliveryDeadEvent,
  EVENT_NAME_BY_TYPE,
  RECOVERED_EVENT_TYPE,
  RecordFileCompleteEvent,
  RecordingEvents,
  RecordingFileRecoveredEvent,
  TaskStalledEvent,
  TaskStatusChangedEvent,
  createCallbackEvent,
} from './recording-events';

/** Rejects when `work` takes longer than `ms`; the work itself cannot be stopped, only abandoned. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`handler timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** One attempt's outcome to record, with the delivery and the instance that must still hold its lease. */
type OutcomeToRecord = DeliveryOutcomeRow & { id: number; owner: string };

/**
 * Outcomes of deliveries that finish within the same event-loop turns are recorded by one statement: each
 * outcome is one row to update, so a batch costs one round trip instead of one per delivery.
 */
const OUTCOME_BATCH: BatchLimits = { maxSize: 64, maxWaitMs: 1, concurrency: 2 };

/** An error as one bounded line of text. */
export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 2000);

/** What one attempt came to: its recorded status, or undefined when the lease was lost meanwhile. */
export type AttemptOutcome = Exclude<DeliveryStatus, 'pending'> | undefined;

/**
 * Runs one claimed delivery once: rebuilds its payloads (from memory right after ingest, else from the
 * stored callback), calls each handler that has not yet succeeded with the handler timeout, records
 * the outcome (delivered, failed with the next attempt after backoff, or dead after `maxAttempts`)
 * while this instance still holds the lease, and hands dead deliveries to `recording.delivery.dead`.
 *
 * @example
 * const outcome = await runner.run(row, instanceId); // 'delivered' | 'failed' | 'dead' | undefined
 */
@Injectable()
export class DeliveryRunner {
  private readonly logger = new Logger('RecordingDelivery');

  /** Records outcomes; those of deliveries finishing together share one statement. */
  private readonly record: Batched<OutcomeToRecord, boolean>;

  constructor(
    private readonly db: DatabaseGateway,
    private readonly registry: RecordingHandlerRegistry,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
    private readonly telemetry: RecordingTelemetry,
  ) {
    this.record = db.batcher(
      async (em, outcomes) => {
        const rows = await db.query<{ id: number }>(em, deliverySql.finishMany(outcomes));
        const updated = new Set(rows.map((r) => Number(r.id)));
        return outcomes.map((o) => updated.has(o.id));
      },
      OUTCOME_BATCH,
      { oneStatement: true },
    );
  }

  async run(row: DeliveryRow, owner: string): Promise<AttemptOutcome> {
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
    const outcome = await this.finish(row, owner, attempt, [...succeeded], errors);
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
    return outcome;
  }

  private async payloads(row: DeliveryRow, attempt: number): Promise<Array<[string, unknown]>> {
    const context = reviveContext(row.context);
    if (row.callbackId === null && row.eventType === RECOVERED_EVENT_TYPE) {
      if (!context.recovered || !context.file) throw new Error(`delivery ${row.id}: recovered file context missing`);
      const { item, recoveryKey, synthetic, runId } = context.recovered;
      const event = new RecordingFileRecoveredEvent(
        context.task,
        context.file,
        item,
        recoveryKey,
        synthetic,
        runId,
        attempt,
      );
      return [[RecordingEvents.FileRecovered, event]];
    }
    if (row.callbackId === null) {
      return [[RecordingEvents.Stalled, new TaskStalledEvent(row.taskId, context.task, context.at, attempt)]];
    }
    const dto = row.callback ?? (await this.loadCallback(row.callbackId));
    const event = createCallbackEvent(row.callbackId, dto, context.task, context.file, attempt);
    if (event instanceof RecordFileCompleteEvent) event.recovered = context.recoveredAs ?? null;
    const events: Array<[string, unknown]> = [[EVENT_NAME_BY_TYPE[dto.event_type], event]];
    if (context.transition) {
      events.push([
        RecordingEvents.StatusChanged,
        new TaskStatusChangedEvent(row.callbackId, context.transition, context.task, context.at, attempt),
      ]);
    }
    return events;
  }

  private async loadCallback(callbackId: number): Promise<RecordingCallbackDto> {
    const [stored] = await this.db.read((em) =>
      this.db.query<{ payload: unknown }>(em, storedCallbackSql.payload(callbackId)),
    );
    const parsed = parseRecordingCallback(this.db.dialect.readJson(stored?.payload));
    if (!parsed.ok)
      throw new Error(`stored callback ${callbackId} no longer validates: ${Object.keys(parsed.fields).join(', ')}`);
    return parsed.dto;
  }

  /** Records the attempt's outcome; returns the new status, or undefined when the lease was lost. */
  private async finish(
    row: DeliveryRow,
    owner: string,
    attempt: number,
    succeeded: string[],
    errors: string[],
  ): Promise<AttemptOutcome> {
    const now = this.options.now();
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.options.delivery;
    let status: Exclude<DeliveryStatus, 'pending'> = 'delivered';
    let next = now;
    if (errors.length) {
      status = attempt >= maxAttempts ? 'dead' : 'failed';
      next = now + retryDelay(attempt, baseDelayMs, maxDelayMs, Math.random);
    }
    const lastError = errors.length ? errors.join('; ').slice(0, 4000) : null;
    const updated = await this.record({
      id: row.id,
      owner,
      status,
      attempts: attempt,
      nextAttemptAt: next,
      lastError,
      succeeded,
      now,
    });
    if (!updated) {
      this.logger.warn(`delivery ${row.id}: lease was lost before the outcome was recorded; it will run again`);
      return undefined;
    }
    if (status === 'dead') await this.deadLetter(row, attempt, lastError ?? '');
    return status;
  }

  private async deadLetter(row: DeliveryRow, attempt: number, lastError: string): Promise<void> {
    this.logger.error(
      `delivery ${row.id} (callback ${row.callbackId ?? '-'}, task ${row.taskId}) is dead after ${attempt} attempts`,
    );
    const dead = new DeliveryDeadEvent(row.id, row.callbackId, row.taskId, row.eventType, attempt, lastError);
    for (const handler of this.registry.handlersOf(RecordingEvents.DeliveryDead)) {
      await handler
        .invoke(dead)
        .catch((e) =>
          this.logger.error(`handler ${handler.id} of ${RecordingEvents.DeliveryDead} failed: ${errorText(e)}`),
        );
    }
  }
}
