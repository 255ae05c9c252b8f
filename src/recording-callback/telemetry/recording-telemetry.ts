import { Injectable, Logger } from '@nestjs/common';
import { logLine, logText } from './log-line';

/**
 * What happened to one callback request. `result` is `accepted` or `duplicate` (200), `rejected` (401),
 * `invalid` (400), `unavailable` (503) or `error` (anything else).
 *
 * @example
 * { result: 'rejected', reason: 'bad_signature', publishDomain: 'push.example.com', status: 401, durationMs: 0.4 }
 */
export interface CallbackOutcome {
  result: 'accepted' | 'duplicate' | 'rejected' | 'invalid' | 'unavailable' | 'error';
  status: number;
  durationMs: number;
  callbackId?: number;
  taskId?: string;
  eventType?: string;
  publishDomain?: string;
  /** The exact 401 reason, for `rejected` (more precise than the answer's: see `SignatureFailureDetail`). */
  reason?: string;
  /** What was wrong, for refusals (the answer's message, cut). */
  message?: string;
  /** Request id of an unexpected error, as answered and logged. */
  requestId?: string;
}

/**
 * What happened to one delivery attempt.
 *
 * @example
 * { deliveryId: 3, taskId: 't1', eventType: 'RECORD_OVER', outcome: 'failed', attempt: 2, durationMs: 12 }
 */
export interface DeliveryOutcome {
  deliveryId: number;
  callbackId: number | null;
  taskId: string;
  eventType: string;
  outcome: 'delivered' | 'failed' | 'dead';
  attempt: number;
  durationMs: number;
}

/**
 * What one reconciliation run came to (see `ReconcileService.run`).
 *
 * @example
 * { outcome: 'succeeded', dryRun: false, listed: 12, matched: 9, recovered: 3, stalled: 0, errors: [], finishedAt, durationMs: 840 }
 */
export interface ReconcileOutcome {
  outcome: 'succeeded' | 'failed';
  dryRun: boolean;
  listed: number;
  matched: number;
  recovered: number;
  stalled: number;
  errors: string[];
  /** Epoch milliseconds. */
  finishedAt: number;
  durationMs: number;
}

/**
 * Receives the module's outcomes, e.g. to count them as metrics. Methods must not throw or block.
 *
 * @example
 * telemetry.addListener({ onCallback: (o) => counter.inc({ result: o.result }) });
 */
export interface RecordingTelemetryListener {
  onCallback?(outcome: CallbackOutcome): void;
  onDelivery?(outcome: DeliveryOutcome): void;
  onReconcile?(outcome: ReconcileOutcome): void;
}

/**
 * The module's single place for per-callback logs and outcome hooks. It logs one structured line per
 * callback (callback id, task id, event type, result, duration; never keys or signatures) and passes
 * each outcome to the registered listeners.
 *
 * @example
 * constructor(telemetry: RecordingTelemetry) { telemetry.addListener(myMetrics); }
 */
@Injectable()
export class RecordingTelemetry {
  private readonly logger = new Logger('RecordingCallback');
  private readonly listeners: RecordingTelemetryListener[] = [];

  addListener(listener: RecordingTelemetryListener): void {
    this.listeners.push(listener);
  }

  callback(outcome: CallbackOutcome): void {
    // One JSON line: task ids and domains are the sender's text, escaped so they cannot forge lines.
    const line = logLine({
      msg: 'recording callback',
      ...outcome,
      durationMs: Math.round(outcome.durationMs * 100) / 100,
    });
    if (outcome.status >= 500) this.logger.error(line);
    else if (outcome.status >= 400) this.logger.warn(line);
    else this.logger.log(line);
    for (const l of this.listeners) this.safely(() => l.onCallback?.(outcome));
  }

  delivery(outcome: DeliveryOutcome): void {
    for (const l of this.listeners) this.safely(() => l.onDelivery?.(outcome));
  }

  /** One log line per reconciliation run, and the outcome to the listeners. */
  reconcile(outcome: ReconcileOutcome): void {
    const { errors, ...rest } = outcome;
    const line = logLine({
      msg: 'recording reconciliation',
      ...rest,
      errors: errors.slice(0, 5),
      durationMs: Math.round(outcome.durationMs),
    });
    if (outcome.outcome === 'failed') this.logger.error(line);
    else if (outcome.recovered > 0 || errors.length > 0) this.logger.warn(line);
    else this.logger.log(line);
    for (const l of this.listeners) this.safely(() => l.onReconcile?.(outcome));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.logger.warn(`telemetry listener failed: ${logText(e instanceof Error ? e.message : e)}`);
    }
  }
}
