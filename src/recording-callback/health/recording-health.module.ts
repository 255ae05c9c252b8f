import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RECORDING_HEALTH_OPTIONS, RecordingHealthIndicator } from './recording-health.indicator';
import type { RecordingHealthOptions } from './recording-health.indicator';

/**
 * Provides {@link RecordingHealthIndicator} (and re-exports Terminus' `HealthCheckService`). Optional:
 * import it from `<package>/health` in apps that have `@nestjs/terminus`. It uses the app's TypeORM
 * DataSource, the one RecordingCallbackModule stores into.
 *
 * @example
 * @Module({ imports: [RecordingHealthModule.forRoot({ maxBacklog: 5000 })], controllers: [HealthController] })
 * class AppModule {}
 */
@Module({})
export class RecordingHealthModule {
  static forRoot(options: RecordingHealthOptions = {}): DynamicModule {
    return {
      module: RecordingHealthModule,
      imports: [TerminusModule],
      providers: [{ provide: RECORDING_HEALTH_OPTIONS, useValue: options }, RecordingHealthIndicator],
      exports: [RecordingHealthIndicator, TerminusModule],
    };
  }
}
