import { DynamicModule, Logger, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CallbackBodyPipe } from './callback/callback-body.pipe';
import { CallbackExceptionFilter } from './callback/callback-exception.filter';
import { RecordingExceptionFilter } from './errors/recording-exception.filter';
import { IngestBatchWriter } from './callback/ingest-batch';
import { IngestService } from './callback/ingest.service';
import { createRecordingCallbackController } from './callback/recording-callback.controller';
import { SignatureGuard } from './callback/signature.guard';
import { DeliveriesService } from './delivery/deliveries.service';
import { createDeliveriesController } from './delivery/deliveries.controller';
import { DeliveryOutbox } from './delivery/delivery-outbox';
import { DeliveryRunner } from './delivery/delivery-runner';
import { DeliveryScheduler } from './delivery/delivery-scheduler';
import { RecordingHandlerRegistry } from './delivery/recording-handler.registry';
import { StalledTaskWatchdog } from './delivery/stalled-task.watchdog';
import { createReconcileController } from './reconcile/reconcile.controller';
import { ReconcileRuns } from './reconcile/reconcile-runs';
import { ReconcileService } from './reconcile/reconcile.service';
import { RecoveryStore } from './reconcile/recovery.store';
import { RecordingDoctor } from './reconcile/recording-doctor';
import { RECORDING_CALLBACK_ENTITIES } from './recording-callback.entities';
import {
  DEFAULT_ROUTES,
  InjectRecordingCallbackOptions,
  RECORDING_CALLBACK_ASYNC_OPTIONS_TYPE,
  RECORDING_CALLBACK_OPTIONS,
  RECORDING_CALLBACK_OPTIONS_TYPE,
  RECORDING_CALLBACK_RAW_OPTIONS,
  RecordingCallbackConfigurableModule,
} from './recording-callback.module-definition';
import type { RecordingCallbackRouteExtras } from './recording-callback.module-definition';
import { whenSwaggerLoaded } from './protocol/optional-swagger';
import { algorithmsInUse, resolveOptions } from './recording-callback.options-resolver';
import type { RecordingCallbackModuleOptions, ResolvedRecordingCallbackOptions } from './recording-callback.options';
import { OperationAccessGuard, QueryAccessGuard } from './tasks/query-access.guard';
import { createRecordingTasksController } from './tasks/recording-tasks.controller';
import { RecordingTasksService } from './tasks/recording-tasks.service';
import { TaskBatchStore } from './tasks/task-batch.store';
import { TaskStore } from './tasks/task.store';
import { DatabaseGateway } from './storage/database.gateway';
import { STORAGE_SETTINGS } from './storage/storage-settings';
import type { StorageSettings } from './storage/storage-settings';
import { RecordingTelemetry } from './telemetry/recording-telemetry';

/** Token of the provider that waits for the optional @nestjs/swagger decorators (see optional-swagger.ts). */
const SWAGGER_DECORATORS_APPLIED = Symbol('SWAGGER_DECORATORS_APPLIED');

function withRoutes(definition: DynamicModule, extras: Partial<RecordingCallbackRouteExtras>): DynamicModule {
  const routes = { ...DEFAULT_ROUTES, ...extras };
  const callbackPath = routes.callbackPath.replace(/\/+$/, '');
  return {
    ...definition,
    controllers: [
      // The operations controllers come first so that their routes are matched before any other.
      createDeliveriesController(`${callbackPath}/deliveries`),
      createReconcileController(`${callbackPath}/reconcile`),
      createRecordingCallbackController(routes.callbackPath),
      createRecordingTasksController(routes.tasksPath),
    ],
  };
}

/**
 * Receives Huawei Cloud Live recording callbacks: verifies, validates, stores and tracks task state in
 * the app's TypeORM DataSource, emits events to `@OnEvent` handlers, and serves task queries.
 * The app provides `TypeOrmModule.forRoot` (with these entities and migrations); handlers are declared
 * with `@OnEvent` from @nestjs/event-emitter.
 *
 * @example
 * RecordingCallbackModule.forRoot({ auth: { algorithm: 'HMACSHA256', keys: [process.env.KEY!] } })
 * @example
 * RecordingCallbackModule.forRootAsync({
 *   imports: [ConfigModule], inject: [ConfigService],
 *   useFactory: (c: ConfigService) => ({ auth: { algorithm: 'HMACSHA256', keys: c.get('KEYS').split(',') } }),
 * })
 */
@Module({
  imports: [DiscoveryModule, TypeOrmModule.forFeature([...RECORDING_CALLBACK_ENTITIES])],
  providers: [
    {
      provide: RECORDING_CALLBACK_OPTIONS,
      inject: [RECORDING_CALLBACK_RAW_OPTIONS],
      useFactory: (raw: RecordingCallbackModuleOptions) => resolveOptions(raw),
    },
    {
      provide: STORAGE_SETTINGS,
      inject: [RECORDING_CALLBACK_OPTIONS],
      useFactory: (o: ResolvedRecordingCallbackOptions): StorageSettings => o.database,
    },
    DatabaseGateway,
    IngestService,
    IngestBatchWriter,
    SignatureGuard,
    CallbackBodyPipe,
    RecordingHandlerRegistry,
    TaskStore,
    TaskBatchStore,
    DeliveryRunner,
    DeliveryScheduler,
    DeliveryOutbox,
    DeliveriesService,
    StalledTaskWatchdog,
    ReconcileRuns,
    RecoveryStore,
    ReconcileService,
    RecordingDoctor,
    RecordingTasksService,
    QueryAccessGuard,
    OperationAccessGuard,
    RecordingTelemetry,
    CallbackExceptionFilter,
    RecordingExceptionFilter,
    // The ES module build applies @nestjs/swagger's decorators once it has imported it: the app is up
    // only after that, so SwaggerModule.createDocument sees every model.
    { provide: SWAGGER_DECORATORS_APPLIED, useFactory: whenSwaggerLoaded },
  ],
  exports: [
    RECORDING_CALLBACK_OPTIONS,
    RecordingTelemetry,
    RecordingTasksService,
    DeliveriesService,
    StalledTaskWatchdog,
    ReconcileService,
    RecordingDoctor,
    // On SQLite an app's own write transactions must go through this queue too (one shared connection).
    DatabaseGateway,
  ],
})
export class RecordingCallbackModule extends RecordingCallbackConfigurableModule implements OnModuleInit {
  private readonly logger = new Logger('RecordingCallback');

  constructor(
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
    private readonly db: DatabaseGateway,
  ) {
    super();
  }

  static override forRoot(options: typeof RECORDING_CALLBACK_OPTIONS_TYPE): DynamicModule {
    return withRoutes(super.forRoot(options), options);
  }

  static override forRootAsync(options: typeof RECORDING_CALLBACK_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withRoutes(super.forRootAsync(options), options);
  }

  onModuleInit(): void {
    if (this.options.queryGuards.length === 0) {
      this.logger.warn(
        'queryGuards is empty: task queries and the delivery list are open to anyone who can reach them',
      );
    }
    if (this.options.operationGuards.length === 0) {
      this.logger.warn(
        'operationGuards is empty: delivery replay answers 403; set operationGuards (or queryGuards) to enable it',
      );
    }
    const pool = this.db.poolSize;
    if (pool !== undefined && this.options.ingest.concurrency >= pool) {
      this.logger.warn(
        `ingest.concurrency (${this.options.ingest.concurrency}) is not below the pool size (${pool}): ingest ` +
          'batches can hold every pooled connection while deliveries and queries wait for one',
      );
    }
    if (this.options.auth === 'none') {
      this.logger.warn(
        'callback authentication is OFF (auth: "none"): anyone who can reach the route can post callbacks',
      );
    } else if (algorithmsInUse(this.options.auth).has('MD5')) {
      this.logger.warn(
        'MD5 callback signatures sign only the key and timestamp, no payload field; prefer HMACSHA256 over HTTPS',
      );
    }
  }
}
