import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DeliveryScheduler } from '../delivery/delivery-scheduler';
import { errorText } from '../delivery/delivery-runner';
import type { RecordContentItem } from '../protocol/live-api';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import { keySetFor } from '../recording-callback.options-resolver';
import type { ResolvedReconcileOptions, ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import { HuaweiLiveClient } from './huawei-live.client';
import { planReconciliation } from './reconcile-plan';
import type { Recovery } from './reconcile-plan';
import { ReconcileBusyError, ReconcileRuns } from './reconcile-runs';
import { RecoveryStore } from './recovery.store';

/**
 * What one run came to, as the route answers it.
 *
 * @example
 * { listed: 12, matched: 9, recovered: 3, stalled: 0, errors: [] }
 */
export interface ReconcileSummary {
  listed: number;
  matched: number;
  recovered: number;
  stalled: number;
  errors: string[];
}

/**
 * What to reconcile.
 *
 * @example
 * { sinceSeconds: 6 * 3600, dryRun: true }
 */
export interface ReconcileRequest {
  /** The window: from this many seconds ago until now (default `reconcile.windowSeconds`). */
  sinceSeconds?: number;
  /** List and compare only: store, deliver and record nothing. */
  dryRun?: boolean;
  /** Ingest domains to list instead of the configured ones. */
  domains?: string[];
  /** Called after each listed page and each stored file (for a progress bar). */
  onProgress?: (p: { phase: 'listing' | 'storing'; done: number; total: number | null }) => void;
  /** Called with the files to recover once the window is compared (a dry run's "what it would do"). */
  onPlan?: (recover: Recovery[]) => void;
}

/** `yyyy-mm-ddThh:mm:ssZ`, the time format of Huawei's listing queries. */
const listingTimeText = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * Reconciles stored files with Huawei Live's recording listing: lists the window's recorded files,
 * matches them to stored files (pure, in `reconcile-plan.ts`), and recovers the missing ones through
 * the outbox as `recording.file.recovered`. One run at a time across instances (the runs table is a
 * lease); the whole window is listed before anything is stored, so a listing that fails stores
 * nothing, and recovered files are unique by key, so a window run again stores nothing twice.
 *
 * @example
 * const summary = await reconcile.run({ sinceSeconds: 3600 }); // { listed, matched, recovered, stalled, errors }
 */
@Injectable()
export class ReconcileService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RecordingReconcile');
  private timer?: NodeJS.Timeout;
  private liveClient?: HuaweiLiveClient;

  constructor(
    private readonly runs: ReconcileRuns,
    private readonly store: RecoveryStore,
    private readonly scheduler: DeliveryScheduler,
    private readonly telemetry: RecordingTelemetry,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  /** Whether reconciliation is configured. */
  get enabled(): boolean {
    return this.options.reconcile !== null;
  }

  /** Throws the 404 answer when reconciliation is not configured. */
  assertEnabled(): void {
    this.settings();
  }

  /** The Live API client (created on first use; the SDK is loaded on its first request). */
  client(): HuaweiLiveClient {
    const r = this.settings();
    this.liveClient ??= new HuaweiLiveClient({ ...r, timeoutMs: r.requestTimeoutMs });
    return this.liveClient;
  }

  onApplicationBootstrap(): void {
    const every = this.options.reconcile?.intervalSeconds ?? 0;
    if (every <= 0) return;
    this.timer = setInterval(() => void this.periodic(), every * 1000);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Runs one window; throws {@link ReconcileBusyError} while another run holds the lease. */
  async run(request: ReconcileRequest = {}): Promise<ReconcileSummary> {
    const r = this.settings();
    const started = performance.now();
    const now = this.options.now();
    const windowStart = now - (request.sinceSeconds ?? r.windowSeconds) * 1000;
    const owner = this.scheduler.instanceId;
    const runId = request.dryRun ? null : await this.runs.start(windowStart, now, owner, now);
    const summary: ReconcileSummary = { listed: 0, matched: 0, recovered: 0, stalled: 0, errors: [] };
    let ok = false;
    try {
      const items = await this.list(request, windowStart, now, runId, owner);
      const streams = uniqueStreams(items);
      const { tasks, files } = await this.store.streamState(streams, new Date(windowStart));
      const plan = planReconciliation(items, files, tasks, {
        now: new Date(now),
        stallAfterMs: this.options.watchdog.stallAfterSeconds * 1000,
        toleranceMs: r.matchToleranceSeconds * 1000,
        accepts: (domain) => this.accepts(domain, request.domains ?? r.domains),
      });
      Object.assign(summary, { listed: plan.listed, matched: plan.matched, stalled: plan.stalledTaskIds.length });
      summary.errors.push(...plan.errors);
      request.onPlan?.(plan.recover);
      if (runId === null) {
        summary.recovered = plan.recover.length;
      } else {
        for (const [i, recovery] of plan.recover.entries()) {
          if (await this.store.recover(recovery, runId, new Date(this.options.now()))) summary.recovered++;
          else summary.matched++;
          request.onProgress?.({ phase: 'storing', done: i + 1, total: plan.recover.length });
          if (i % 50 === 49) await this.runs.extend(runId, owner, this.options.now());
        }
      }
      ok = true;
    } catch (error) {
      summary.errors.push(errorText(error));
      this.logger.error(`reconciliation failed: ${errorText(error)}`);
    } finally {
      if (runId !== null) {
        await this.runs.finish(runId, ok, this.options.now(), summary, summary.errors).catch((e: unknown) => {
          this.logger.error(`reconciliation run ${runId} could not be recorded: ${errorText(e)}`);
        });
      }
    }
    this.telemetry.reconcile({
      ...summary,
      outcome: ok ? 'succeeded' : 'failed',
      dryRun: runId === null,
      finishedAt: this.options.now(),
      durationMs: performance.now() - started,
    });
    return summary;
  }

  /** Every listed item of the window: per configured domain, else one listing of the whole project. */
  private async list(
    request: ReconcileRequest,
    windowStart: number,
    now: number,
    runId: number | null,
    owner: string,
  ): Promise<RecordContentItem[]> {
    const domains = request.domains ?? this.settings().domains;
    const items: RecordContentItem[] = [];
    const query = { start_time: listingTimeText(windowStart), end_time: listingTimeText(now) };
    for (const domain of domains.length > 0 ? domains : [undefined]) {
      for await (const page of this.client().recordContents({ ...query, publish_domain: domain })) {
        items.push(...page);
        request.onProgress?.({ phase: 'listing', done: items.length, total: null });
        if (runId !== null) await this.runs.extend(runId, owner, this.options.now());
      }
    }
    return items;
  }

  /** Items of domains the module takes no callbacks for (or not asked for) are another app's files. */
  private accepts(domain: string, domains: string[]): boolean {
    const { auth } = this.options;
    if (domains.length > 0 && !domains.includes(domain)) return false;
    return auth === 'none' || keySetFor(auth, domain) !== undefined;
  }

  private async periodic(): Promise<void> {
    try {
      const s = await this.run();
      if (s.recovered > 0) this.logger.warn(`reconciliation recovered ${s.recovered} file(s) no callback reported`);
    } catch (error) {
      if (!(error instanceof ReconcileBusyError)) this.logger.warn(`reconciliation failed: ${errorText(error)}`);
    }
  }

  private settings(): ResolvedReconcileOptions {
    if (!this.options.reconcile) {
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        message: 'reconciliation is not enabled (RecordingCallbackModule option reconcile)',
      });
    }
    return this.options.reconcile;
  }
}

function uniqueStreams(items: RecordContentItem[]) {
  const seen = new Map<string, { publishDomain: string; app: string; stream: string }>();
  for (const i of items) {
    if (typeof i.publish_domain !== 'string' || typeof i.app !== 'string' || typeof i.stream !== 'string') continue;
    seen.set(JSON.stringify([i.publish_domain, i.app, i.stream]), {
      publishDomain: i.publish_domain,
      app: i.app,
      stream: i.stream,
    });
  }
  return [...seen.values()];
}
