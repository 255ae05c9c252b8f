import { DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseOptions } from '../ormconfig';
import { BearerTokenGuard } from './host/bearer-token.guard';
import { CompletedFileLogger } from './host/completed-file.logger';
import type { HostConfig } from './host/host-config';
import { HOST_CONFIG } from './host/host-config.token';
import { RecordingCallbackModule } from './recording-callback';

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
            migrationsRun: true,
            // Fail fast at start-up instead of retrying for minutes when the database is unreachable.
            retryAttempts: 2,
            retryDelay: 1000,
          }),
        }),
        EventEmitterModule.forRoot(),
        RecordingCallbackModule.forRootAsync({
          inject: [HOST_CONFIG],
          useFactory: (c: HostConfig) => ({
            auth: { algorithm: c.algorithm, keys: c.keys },
            toleranceSeconds: c.toleranceSeconds,
            queryGuards: [BearerTokenGuard],
          }),
        }),
      ],
      providers: [BearerTokenGuard, CompletedFileLogger],
    };
  }
}
