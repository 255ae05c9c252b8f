import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { errorText } from '../delivery/delivery-runner';
import { EVENT_NAME_BY_TYPE } from '../delivery/recording-events';
import { RecordingHandlerRegistry } from '../delivery/recording-handler.registry';
import { RECORDING_EVENT_TYPES } from '../protocol/recording-event-type';
import type { RecordCallbackConfig } from '../protocol/live-api';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { DatabaseGateway } from '../storage/database.gateway';
import { PING } from '../storage/statement';
import { logLine } from '../telemetry/log-line';
import { diagnose } from './doctor-findings';
import type { DoctorFinding } from './doctor-findings';
import { ReconcileService } from './reconcile.service';

/**
 * The configuration check's result: the findings (empty when all is well), what was checked, and the
 * measured clock offset.
 *
 * @example
 * { ok: false, findings: [{ code: 'md5_in_use', … }], domains: ['push.example.com'], clockOffsetMs: 120 }
 */
export interface DoctorReport {
  ok: boolean;
  findings: DoctorFinding[];
  domains: string[];
  clockOffsetMs: number | null;
}

/**
 * Checks the recording callback configuration end to end: reads Huawei's configurations for the
 * module's domains and compares them with the module (URL, signing algorithm, subscribed events the
 * handlers need), and checks the local side (keys, clock against Huawei's Date header, database).
 * Runs on demand (`npm run doctor`, or `check()` from the app) and, with `reconcile.checkAtStartup`,
 * once at start-up, logging its findings (it never stops the app).
 *
 * @example
 * const report = await app.get(RecordingDoctor).check();
 */
@Injectable()
export class RecordingDoctor implements OnApplicationBootstrap {
  private readonly logger = new Logger('RecordingDoctor');

  constructor(
    private readonly reconcile: ReconcileService,
    private readonly registry: RecordingHandlerRegistry,
    private readonly db: DatabaseGateway,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.reconcile?.checkAtStartup) return;
    void this.check().then(
      (report) => this.log(report),
      (e: unknown) => this.logger.warn(`configuration check failed: ${errorText(e)}`),
    );
  }

  /**
   * Runs the check; needs `reconcile` options (the AK/SK) to read Huawei's side. `listened` names the
   * Huawei event types the app handles (default: those this app's handlers listen to), for a process
   * that has no handlers of its own such as `npm run doctor`.
   */
  async check(settings: { listened?: string[] } = {}): Promise<DoctorReport> {
    this.reconcile.assertEnabled();
    const { auth } = this.options;
    const domains = [...new Set([...(auth === 'none' ? [] : auth.domains.keys()), ...this.options.reconcile!.domains])];
    let configs: RecordCallbackConfig[] | null = null;
    let apiError: string | undefined;
    let clockOffsetMs: number | null = null;
    const client = this.reconcile.client();
    const before = this.options.now();
    try {
      configs = await client.callbackConfigs();
      const after = this.options.now();
      // The Date header has whole seconds: compare with the middle of the request, within a second.
      if (client.lastServerDate) clockOffsetMs = client.lastServerDate.getTime() - (before + after) / 2;
    } catch (e) {
      apiError = errorText(e);
    }
    const databaseError = await this.db.execute(PING).then(
      () => null,
      (e: unknown) => errorText(e),
    );
    const listened =
      settings.listened ??
      RECORDING_EVENT_TYPES.filter((t) => this.registry.handlersOf(EVENT_NAME_BY_TYPE[t]).length > 0);
    const findings = diagnose({
      configs,
      apiError,
      auth,
      domains,
      listened,
      callbackUrl: this.options.reconcile!.callbackUrl,
      clockOffsetMs,
      toleranceSeconds: this.options.toleranceSeconds,
      databaseError,
    });
    return { ok: findings.length === 0, findings, domains, clockOffsetMs };
  }

  private log(report: DoctorReport): void {
    if (report.ok) this.logger.log(logLine({ msg: 'recording configuration check: nothing found' }));
    for (const f of report.findings) {
      const line = logLine({ msg: 'recording configuration check', ...f });
      if (f.severity === 'error') this.logger.error(line);
      else this.logger.warn(line);
    }
  }
}
