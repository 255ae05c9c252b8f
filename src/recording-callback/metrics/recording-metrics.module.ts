import { DynamicModule, Module, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { collectDefaultMetrics } from 'prom-client';
import { DataSource, In } from 'typeorm';
import { DeliveryEntity } from '../delivery/delivery.entity';
import { RECORDING_CALLBACK_OPTIONS } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import { RecordingMetrics } from './recording-metrics';
import type { RecordingMetricsOptions } from './recording-metrics';

/**
 * Options of {@link RecordingMetricsModule}.
 *
 * @example
 * RecordingMetricsModule.forRoot({ defaultMetrics: true })
 */
export interface RecordingMetricsModuleOptions extends RecordingMetricsOptions {
  /** Also collect prom-client's default Node.js process metrics into the same registry (default false). */
  defaultMetrics?: boolean;
}

/**
 * Optional Prometheus metrics for RecordingCallbackModule (needs `prom-client`; import it from
 * `<package>/metrics`). Registers a {@link RecordingMetrics} on the module's telemetry and counts the
 * delivery backlog from the app's DataSource at scrape time. Serve `RecordingMetrics.registry` yourself,
 * e.g. at `/metrics`.
 *
 * @example
 * @Module({ imports: [RecordingCallbackModule.forRoot(...), RecordingMetricsModule.forRoot()] })
 * class AppModule {}
 * // in a controller: constructor(private readonly metrics: RecordingMetrics) {}
 * //   @Get('metrics') async scrape(@Res() res) { res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics()); }
 */
@Module({})
export class RecordingMetricsModule implements OnModuleInit {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly metrics: RecordingMetrics,
  ) {}

  static forRoot(options: RecordingMetricsModuleOptions = {}): DynamicModule {
    return {
      module: RecordingMetricsModule,
      providers: [
        {
          provide: RecordingMetrics,
          useFactory: () => {
            const metrics = new RecordingMetrics(options);
            if (options.defaultMetrics) collectDefaultMetrics({ register: metrics.registry });
            return metrics;
          },
        },
      ],
      exports: [RecordingMetrics],
    };
  }

  onModuleInit(): void {
    let telemetry: RecordingTelemetry;
    try {
      telemetry = this.moduleRef.get(RecordingTelemetry, { strict: false });
    } catch {
      throw new Error('RecordingMetricsModule needs RecordingCallbackModule in the same app');
    }
    telemetry.addListener(this.metrics);
    const options = this.moduleRef.get<ResolvedRecordingCallbackOptions>(RECORDING_CALLBACK_OPTIONS, { strict: false });
    if (options.auth !== 'none') this.metrics.knownDomains(options.auth.domains.keys());
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    const deliveries = dataSource.getRepository(DeliveryEntity);
    this.metrics.trackBacklog(async () => {
      const [open, dead] = await Promise.all([
        deliveries.count({ where: { status: In(['pending', 'failed']) } }),
        deliveries.count({ where: { status: 'dead' } }),
      ]);
      return { open, dead };
    });
  }
}
