import { DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseOptions, runMigrationsLocked } from '../ormconfig';
import { BearerTokenGuard } from './host/bearer-token.guard';
import { CompletedFileLogger } from './host/completed-file.logger';
import { HealthController } from './host/health.controller';
import type { HostConfig } from './host/host-config';
import { HOST_CONFIG } from './host/host-config.token';
import { MetricsController } from './host/metrics.controller';
import { RecordingCallbackModule } from './recording-callback';
import { RecordingHealthModule } from './recording-callback/health';
import { RecordingMetricsModule } from './recording-callback/metrics';

/**
 * The runnable host app: imports RecordingCallbackModule exactly as a user's app would.
 *
 * @example
 * NestFactory.create(AppModule.forRoot(loadHostConfig(process.env)));
 */
@Module({})
export class AppModule {
  static forRoot(config: HostConfig): DynamicModule {
    const configModule: DynamicModule = {
      module: class HostConfigModule {},
      global: true,
      providers: [{ provide: HOST_CONFIG, useValue: config }],
      exports: [HOST_CONFIG],
    };
    return {
      module: AppModule,
      imports: [
        configModule,
        TypeOrmModule.forRootAsync({
          inject: [HOST_CONFIG],
          useFactory: (c: HostConfig) => ({
            ...databaseOptions(c),
            // Fail fast at start-up instead of retrying for minutes when the database is unreachable.
            retryAttempts: 2,
            retryDelay: 1000,
          }),
          // Pending migrations run at start, under a lock on PostgreSQL so instances may start together.
          dataSourceFactory: async (options) => runMigrationsLocked(await new DataSource(options!).initialize()),
        }),
        EventEmitterModule.forRoot(),
        RecordingCallbackModule.forRootAsync({
          inject: [HOST_CONFIG],
          useFactory: (c: HostConfig) => ({
            auth: { algorithm: c.algorithm, keys: c.keys },
            toleranceSeconds: c.toleranceSeconds,
            maxFutureSeconds: c.maxFutureSeconds,
            database: { preparedStatements: c.preparedStatements ?? false },
            // Without RECORDING_QUERY_TOKEN no guard: reads are open (the module warns at start-up) and
            // replay answers 403.
            queryGuards: c.queryToken ? [BearerTokenGuard] : [],
            // On when HUAWEI_CLOUD_AK, HUAWEI_CLOUD_SK and HUAWEI_CLOUD_PROJECT_ID are set.
            ...(c.reconcile ? { reconcile: c.reconcile } : {}),
          }),
        }),
        RecordingHealthModule.forRoot(config.health ?? {}),
        // Prometheus metrics are on unless RECORDING_METRICS=off.
        ...(config.metrics === false ? [] : [RecordingMetricsModule.forRoot({ defaultMetrics: true })]),
      ],
      controllers: [HealthController, ...(config.metrics === false ? [] : [MetricsController])],
      providers: [BearerTokenGuard, CompletedFileLogger],
    };
  }
}
