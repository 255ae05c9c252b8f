import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { HealthIndicatorFunction, HealthIndicatorResult } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { StoredCallbackEntity } from '../delivery/stored-callback.entity';
import { readOnOwnConnection } from '../storage/connections';
import { PING } from '../storage/statement';
import { deliveryCountsByStatus } from '../delivery/delivery-list.sql';
import { ReconcileRunEntity } from '../reconcile/reconcile-run.entity';

/**
 * Thresholds of {@link RecordingHealthIndicator}.
 *
 * @example
 * RecordingHealthModule.forRoot({ maxBacklog: 5000, maxDeadLetters: 10, maxSilenceSeconds: 3600 })
 */
export interface RecordingHealthOptions {
  /** Open deliveries (pending or waiting for a retry) above this mark the check down (default 1000). */
  maxBacklog?: number;
  /** Dead letters (deliveries that used up their attempts) above this mark the check down (default 100). */
  maxDeadLetters?: number;
  /**
   * Seconds without any stored callback after which the check is `degraded` (still 200): silence may
   * mean nobody streams, or that Huawei cannot reach you. Default: none, the age is only reported.
   */
  maxSilenceSeconds?: number;
  /**
   * Seconds since the last successful reconciliation run after which the check is `degraded` (still
   * 200). Default: none, the age is only reported.
   */
  maxReconcileAgeSeconds?: number;
  /** How long the database may take to answer (default 3000 ms). */
  timeoutMs?: number;
  /** Clock in milliseconds, for tests (default `Date.now`). */
  now?: () => number;
}

/** Injection token of the {@link RecordingHealthOptions}. */
export const RECORDING_HEALTH_OPTIONS = Symbol('RECORDING_HEALTH_OPTIONS');

const OPEN = ['pending', 'failed'] as const;

/**
 * Terminus health indicator of the recording-callback module: the database answers, the delivery
 * backlog and the dead letters are under their thresholds, and how long ago the last callback arrived.
 * Needs `@nestjs/terminus`; provided by `RecordingHealthModule` (from `<package>/health`).
 *
 * @example
 * @Get('health') @HealthCheck()
 * check() { return this.health.check(this.recording.checks()); }
 */
@Injectable()
export class RecordingHealthIndicator {
  private readonly options: Required<Omit<RecordingHealthOptions, 'maxSilenceSeconds' | 'maxReconcileAgeSeconds'>> &
    Pick<RecordingHealthOptions, 'maxSilenceSeconds' | 'maxReconcileAgeSeconds'>;

  constructor(
    private readonly indicator: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() @Inject(RECORDING_HEALTH_OPTIONS) options?: RecordingHealthOptions,
  ) {
    this.options = {
      maxBacklog: options?.maxBacklog ?? 1000,
      maxDeadLetters: options?.maxDeadLetters ?? 100,
      maxSilenceSeconds: options?.maxSilenceSeconds,
      maxReconcileAgeSeconds: options?.maxReconcileAgeSeconds,
      timeoutMs: options?.timeoutMs ?? 3000,
      now: options?.now ?? Date.now,
    };
  }

  /** The four checks, for `HealthCheckService.check([...])`. */
  checks(): HealthIndicatorFunction[] {
    return [() => this.database(), () => this.deliveries(), () => this.lastCallback(), () => this.lastReconcile()];
  }

  /**
   * Up when the app's DataSource is initialised and answers `SELECT 1` in time.
   *
   * @example
   * await indicator.database(); // { recording_database: { status: 'up', responseTime: 2 } }
   */
  async database(key = 'recording_database'): Promise<HealthIndicatorResult> {
    const session = this.indicator.check(key);
    if (!this.dataSource.isInitialized) return session.down({ message: 'the DataSource is not initialised' });
    return session
      .attempt(async () => {
        await readOnOwnConnection(this.dataSource, (em) => em.query(PING.sql));
      })
      .withTimeout(this.options.timeoutMs);
  }

  /**
   * Open deliveries (`backlog`) and dead letters (`deadLetters`) against their thresholds.
   *
   * @example
   * await indicator.deliveries(); // { recording_deliveries: { status: 'up', backlog: 0, deadLetters: 0, ... } }
   */
  async deliveries(key = 'recording_deliveries'): Promise<HealthIndicatorResult> {
    const session = this.indicator.check(key);
    const { maxBacklog, maxDeadLetters } = this.options;
    let counts: { backlog: number; deadLetters: number };
    try {
      counts = await this.countDeliveries();
    } catch (error) {
      return session.down({ message: `cannot count deliveries: ${messageOf(error)}` });
    }
    const data = { ...counts, maxBacklog, maxDeadLetters };
    if (counts.backlog > maxBacklog) return session.down({ ...data, message: 'delivery backlog over its threshold' });
    if (counts.deadLetters > maxDeadLetters)
      return session.down({ ...data, message: 'dead letters over their threshold' });
    return session.up(data);
  }

  /**
   * When the last callback was stored and how many seconds ago; `degraded` past `maxSilenceSeconds`.
   *
   * @example
   * await indicator.lastCallback(); // { recording_callbacks: { status: 'up', lastCallbackAt: '…', ageSeconds: 12 } }
   */
  async lastCallback(key = 'recording_callbacks'): Promise<HealthIndicatorResult> {
    const session = this.indicator.check(key);
    let last: StoredCallbackEntity | null;
    try {
      last = await readOnOwnConnection(this.dataSource, (em) =>
        em
          .getRepository(StoredCallbackEntity)
          .findOne({ where: {}, select: { id: true, receivedAt: true }, order: { id: 'DESC' } }),
      );
    } catch (error) {
      return session.down({ message: `cannot read the last callback: ${messageOf(error)}` });
    }
    const { maxSilenceSeconds } = this.options;
    if (!last)
      return session.up({ lastCallbackAt: null, ageSeconds: null, maxSilenceSeconds: maxSilenceSeconds ?? null });
    const ageSeconds = Math.max(0, Math.round((this.options.now() - last.receivedAt.getTime()) / 1000));
    const data = {
      lastCallbackAt: last.receivedAt.toISOString(),
      ageSeconds,
      maxSilenceSeconds: maxSilenceSeconds ?? null,
    };
    if (maxSilenceSeconds !== undefined && ageSeconds > maxSilenceSeconds) {
      return session.degraded({ ...data, message: `no callback for over ${maxSilenceSeconds} s` });
    }
    return session.up(data);
  }

  /**
   * When the last reconciliation run succeeded and how many seconds ago (null before the first, or when
   * reconciliation is not enabled); `degraded` past `maxReconcileAgeSeconds`.
   *
   * @example
   * await indicator.lastReconcile(); // { recording_reconcile: { status: 'up', lastSuccessAt: '…', ageSeconds: 40, recovered: 0 } }
   */
  async lastReconcile(key = 'recording_reconcile'): Promise<HealthIndicatorResult> {
    const session = this.indicator.check(key);
    let last: ReconcileRunEntity | null;
    try {
      last = await readOnOwnConnection(this.dataSource, (em) =>
        em.getRepository(ReconcileRunEntity).findOne({ where: { status: 'succeeded' }, order: { id: 'DESC' } }),
      );
    } catch (error) {
      return session.down({ message: `cannot read the last reconciliation run: ${messageOf(error)}` });
    }
    const maxAgeSeconds = this.options.maxReconcileAgeSeconds ?? null;
    if (!last?.finishedAt) return session.up({ lastSuccessAt: null, ageSeconds: null, recovered: null, maxAgeSeconds });
    const ageSeconds = Math.max(0, Math.round((this.options.now() - last.finishedAt) / 1000));
    const data = {
      lastSuccessAt: new Date(last.finishedAt).toISOString(),
      ageSeconds,
      recovered: last.recovered,
      maxAgeSeconds,
    };
    if (maxAgeSeconds !== null && ageSeconds > maxAgeSeconds) {
      return session.degraded({ ...data, message: `no successful reconciliation for over ${maxAgeSeconds} s` });
    }
    return session.up(data);
  }

  private async countDeliveries(): Promise<{ backlog: number; deadLetters: number }> {
    const rows = await readOnOwnConnection(this.dataSource, (em) => deliveryCountsByStatus(em, [...OPEN, 'dead']));
    const count = (statuses: readonly string[]) =>
      rows.filter((r) => statuses.includes(r.status)).reduce((sum, r) => sum + Number(r.n), 0);
    return { backlog: count(OPEN), deadLetters: count(['dead']) };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
