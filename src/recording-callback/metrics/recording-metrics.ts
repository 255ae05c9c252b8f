import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RECORDING_EVENT_TYPES } from '../protocol/recording-event-type';
import type {
  CallbackOutcome,
  DeliveryOutcome,
  ReconcileOutcome,
  RecordingTelemetryListener,
} from '../telemetry/recording-telemetry';

/**
 * Settings of {@link RecordingMetrics}.
 *
 * @example
 * new RecordingMetrics({ registry: register }) // prom-client's global registry
 */
export interface RecordingMetricsOptions {
  /** Where the metrics are registered (default: a registry of their own, see `RecordingMetrics.registry`). */
  registry?: Registry;
  /** Prefix of every metric name (default `recording_`). */
  prefix?: string;
  /** Buckets of the ingest latency histogram, in seconds. */
  latencyBuckets?: number[];
  /**
   * Distinct `publish_domain` label values taken from callbacks whose signature was never verified
   * (default 10); more become `other`, so forged domains cannot grow the series without bound.
   * Domains that had a callback accepted, or are configured, are always kept (up to 1000).
   */
  maxUnverifiedDomains?: number;
}

/** Counts read from the database when Prometheus scrapes. */
export interface DeliveryBacklog {
  /** Deliveries pending or waiting for a retry. */
  open: number;
  /** Deliveries that used up their attempts. */
  dead: number;
}

const KNOWN_EVENTS = new Set<string>([...RECORDING_EVENT_TYPES, 'STALLED', 'RECOVERED']);
const MAX_VERIFIED_DOMAINS = 1000;

/** What an ingest domain can look like: letters, digits, dots, hyphens (and an optional port). */
const HOST_NAME = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

/**
 * Prometheus metrics of the recording-callback module, fed by the module's telemetry
 * (`RecordingTelemetry.addListener(metrics)`; `RecordingMetricsModule` does it for you):
 *
 * - `recording_callbacks_total{event_type, result}`: callbacks answered, by result
 *   (accepted, duplicate, rejected, invalid, unavailable, error)
 * - `recording_signature_failures_total{reason, publish_domain}`: 401 answers
 * - `recording_ingest_duration_seconds{result}`: time from the signature check to the answer
 * - `recording_delivery_attempts_total{event_type, outcome}`: handler deliveries (delivered, failed, dead)
 * - `recording_delivery_failures_total{event_type}`: attempts that failed (retried or dead-lettered)
 * - `recording_delivery_backlog`, `recording_delivery_dead_letters`: read from the database at scrape time
 * - `recording_reconcile_runs_total{outcome}`, `recording_reconcile_files_total{result}` (listed, matched,
 *   recovered), `recording_reconcile_last_success_timestamp_seconds`, `recording_reconcile_stalled_tasks`:
 *   reconciliation runs of this instance (dry runs are not counted)
 *
 * @example
 * const metrics = new RecordingMetrics();
 * telemetry.addListener(metrics);
 * res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
 */
export class RecordingMetrics implements RecordingTelemetryListener {
  /** The registry holding these metrics; serve `await registry.metrics()` at `/metrics`. */
  readonly registry: Registry;
  private readonly callbacks: Counter<'event_type' | 'result'>;
  private readonly signatureFailures: Counter<'reason' | 'publish_domain'>;
  private readonly latency: Histogram<'result'>;
  private readonly deliveryAttempts: Counter<'event_type' | 'outcome'>;
  private readonly deliveryFailures: Counter<'event_type'>;
  private readonly reconcileRuns: Counter<'outcome'>;
  private readonly reconcileFiles: Counter<'result'>;
  private readonly reconcileLastSuccess: Gauge;
  private readonly reconcileStalled: Gauge;
  private readonly verifiedDomains = new Set<string>();
  private readonly unverifiedDomains = new Set<string>();
  private readonly maxUnverifiedDomains: number;
  private backlogReader?: () => Promise<DeliveryBacklog>;
  private backlogRead?: Promise<DeliveryBacklog | undefined>;

  constructor(options: RecordingMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    const prefix = options.prefix ?? 'recording_';
    this.registry = registry;
    this.maxUnverifiedDomains = options.maxUnverifiedDomains ?? 10;
    const registers = [registry];
    this.callbacks = new Counter({
      name: `${prefix}callbacks_total`,
      help: 'Recording callbacks answered, by event type and result (accepted, duplicate, rejected, invalid, unavailable, error)',
      labelNames: ['event_type', 'result'],
      registers,
    });
    this.signatureFailures = new Counter({
      name: `${prefix}signature_failures_total`,
      help: 'Recording callbacks refused with 401, by reason and publish_domain',
      labelNames: ['reason', 'publish_domain'],
      registers,
    });
    this.latency = new Histogram({
      name: `${prefix}ingest_duration_seconds`,
      help: 'Time from receiving a recording callback (signature check) to its answer, by result',
      labelNames: ['result'],
      buckets: options.latencyBuckets ?? [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.deliveryAttempts = new Counter({
      name: `${prefix}delivery_attempts_total`,
      help: "Deliveries of callbacks to the app's handlers, by event type and outcome (delivered, failed, dead)",
      labelNames: ['event_type', 'outcome'],
      registers,
    });
    this.deliveryFailures = new Counter({
      name: `${prefix}delivery_failures_total`,
      help: 'Delivery attempts in which a handler failed (to be retried, or dead-lettered), by event type',
      labelNames: ['event_type'],
      registers,
    });
    this.reconcileRuns = new Counter({
      name: `${prefix}reconcile_runs_total`,
      help: "Reconciliation runs against Huawei Live's recording listing, by outcome (succeeded, failed)",
      labelNames: ['outcome'],
      registers,
    });
    this.reconcileFiles = new Counter({
      name: `${prefix}reconcile_files_total`,
      help: 'Files seen by reconciliation runs, by result (listed, matched, recovered)',
      labelNames: ['result'],
      registers,
    });
    this.reconcileLastSuccess = new Gauge({
      name: `${prefix}reconcile_last_success_timestamp_seconds`,
      help: 'When the last successful reconciliation run of this instance finished (Unix time)',
      registers,
    });
    this.reconcileStalled = new Gauge({
      name: `${prefix}reconcile_stalled_tasks`,
      help: 'RECORDING tasks the last reconciliation run found stalled or long past their last listed file',
      registers,
    });
    // Gauges read at scrape time; one database read serves both.
    const readBacklog = () => this.readBacklog();
    new Gauge({
      name: `${prefix}delivery_backlog`,
      help: 'Deliveries pending or waiting for a retry',
      registers,
      async collect() {
        const backlog = await readBacklog();
        if (backlog) this.set(backlog.open);
      },
    });
    new Gauge({
      name: `${prefix}delivery_dead_letters`,
      help: 'Deliveries that used up their attempts (replay them by hand)',
      registers,
      async collect() {
        const backlog = await readBacklog();
        if (backlog) this.set(backlog.dead);
      },
    });
  }

  /**
   * Where the backlog gauges read their values at scrape time (RecordingMetricsModule counts the
   * deliveries table). A failing read leaves the gauges at their last value.
   */
  trackBacklog(read: () => Promise<DeliveryBacklog>): void {
    this.backlogReader = read;
  }

  /** Domains that are configured are always kept as label values. */
  knownDomains(domains: Iterable<string>): void {
    for (const d of domains) this.verify(d);
  }

  onCallback(outcome: CallbackOutcome): void {
    const eventType = this.eventLabel(outcome.eventType);
    if (outcome.status === 200 && outcome.publishDomain) this.verify(outcome.publishDomain);
    this.callbacks.inc({ event_type: eventType, result: outcome.result });
    this.latency.observe({ result: outcome.result }, outcome.durationMs / 1000);
    if (outcome.result === 'rejected') {
      this.signatureFailures.inc({
        reason: outcome.reason ?? 'unknown',
        publish_domain: this.domainLabel(outcome.publishDomain),
      });
    }
  }

  onDelivery(outcome: DeliveryOutcome): void {
    const eventType = this.eventLabel(outcome.eventType);
    this.deliveryAttempts.inc({ event_type: eventType, outcome: outcome.outcome });
    if (outcome.outcome !== 'delivered') this.deliveryFailures.inc({ event_type: eventType });
  }

  onReconcile(outcome: ReconcileOutcome): void {
    if (outcome.dryRun) return;
    this.reconcileRuns.inc({ outcome: outcome.outcome });
    for (const result of ['listed', 'matched', 'recovered'] as const)
      this.reconcileFiles.inc({ result }, outcome[result]);
    if (outcome.outcome === 'succeeded') {
      this.reconcileLastSuccess.set(outcome.finishedAt / 1000);
      this.reconcileStalled.set(outcome.stalled);
    }
  }

  private readBacklog(): Promise<DeliveryBacklog | undefined> {
    if (!this.backlogReader) return Promise.resolve(undefined);
    // Both gauges collect in the same scrape: share one read.
    this.backlogRead ??= this.backlogReader()
      .catch(() => undefined)
      .finally(() => setImmediate(() => (this.backlogRead = undefined)));
    return this.backlogRead;
  }

  private eventLabel(eventType: string | undefined): string {
    return eventType && KNOWN_EVENTS.has(eventType) ? eventType : 'unknown';
  }

  private verify(domain: string): void {
    if (this.verifiedDomains.size < MAX_VERIFIED_DOMAINS) this.verifiedDomains.add(domain);
  }

  private domainLabel(domain: string | undefined): string {
    if (!domain) return 'none';
    // An unsigned request's domain is the sender's text: only a host name becomes a label value, so no
    // escape sequence or line separator reaches the operator's /metrics view.
    if (!this.verifiedDomains.has(domain) && !HOST_NAME.test(domain)) return 'invalid';
    if (this.verifiedDomains.has(domain) || this.unverifiedDomains.has(domain)) return domain;
    if (this.unverifiedDomains.size < this.maxUnverifiedDomains) {
      this.unverifiedDomains.add(domain);
      return domain;
    }
    return 'other';
  }
}
