import { Module } from '@nestjs/common';
import type { DynamicModule, LoggerService, Provider } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../../ormconfig';
import { configureHttp } from '../../src/host/http-setup';
import { RecordingCallbackModule } from '../../src/recording-callback';
import type { RecordingCallbackModuleOptions, RecordingCallbackRouteExtras } from '../../src/recording-callback';
import { CapturingLogger } from './capturing-logger';
import type { TestDatabase } from './databases';

/** The two ways an app can configure the module, for `describe.each(WIRINGS)`. */
export const WIRINGS = ['forRoot', 'forRootAsync'] as const;
export type Wiring = (typeof WIRINGS)[number];

/** Token under which forRootAsync test apps provide the module options, as a config module would. */
export const TEST_RECORDING_OPTIONS = Symbol('TEST_RECORDING_OPTIONS');

/**
 * `RecordingCallbackModule.forRoot(options)` or `.forRootAsync({ imports, inject, useFactory })` whose
 * factory reads the options from an imported module (like `@nestjs/config` would).
 *
 * @example
 * imports: [recordingCallbackModule('forRootAsync', { auth: { algorithm: 'MD5', keys: [KEY_A] } })]
 */
export function recordingCallbackModule(
  wiring: Wiring,
  options: RecordingCallbackModuleOptions,
  routes: Partial<RecordingCallbackRouteExtras> = {},
): DynamicModule {
  if (wiring === 'forRoot') return RecordingCallbackModule.forRoot({ ...options, ...routes });
  @Module({ providers: [{ provide: TEST_RECORDING_OPTIONS, useValue: options }], exports: [TEST_RECORDING_OPTIONS] })
  class TestOptionsModule {}
  return RecordingCallbackModule.forRootAsync({
    imports: [TestOptionsModule],
    inject: [TEST_RECORDING_OPTIONS],
    useFactory: async (o: RecordingCallbackModuleOptions) => o,
    ...routes,
  });
}

/** Extra settings of {@link startTestApp}. */
export interface TestAppSettings {
  /** Providers of the test app itself (event handlers, guards). */
  providers?: Provider[];
  /** Receives every log line; a silent {@link CapturingLogger} when not given. */
  logger?: LoggerService;
  /** Route paths of the module. */
  routes?: Partial<RecordingCallbackRouteExtras>;
  /**
   * Receives each DataSource the app creates (and its initialisation). Nest creates providers of all
   * modules in parallel, so when start-up fails on the module's options the DataSource may still be
   * connecting and migrating; {@link releaseDataSources} waits for it and closes it.
   */
  dataSources?: TrackedDataSource[];
}

/** A DataSource created by a test app, with its initialisation. */
export interface TrackedDataSource {
  dataSource: DataSource;
  initialized: Promise<unknown>;
}

/**
 * Waits for tracked DataSources to finish initialising, then destroys those still open.
 *
 * @example
 * const dataSources: TrackedDataSource[] = []; try { await startTestApp(..., { dataSources }) } finally { await releaseDataSources(dataSources) }
 */
export async function releaseDataSources(tracked: TrackedDataSource[]): Promise<void> {
  for (const { dataSource, initialized } of tracked.splice(0)) {
    await initialized.catch(() => undefined);
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

/**
 * The TestingModule a user's app would build: the host owns TypeORM (with the module's migrations run)
 * and EventEmitterModule; the module is wired with forRoot or forRootAsync.
 *
 * @example
 * await buildTestModule(db, 'forRoot', { auth: 'none' }).compile();
 */
export function buildTestModule(
  db: TestDatabase,
  wiring: Wiring,
  options: RecordingCallbackModuleOptions,
  settings: TestAppSettings = {},
) {
  const typeOrmOptions = {
    ...databaseOptions({ databaseUrl: db.databaseUrl, sqlitePath: db.sqlitePath }),
    migrationsRun: true,
    retryAttempts: 1,
    retryDelay: 100,
  };
  const tracked = settings.dataSources;
  const typeOrm = tracked
    ? TypeOrmModule.forRootAsync({
        useFactory: () => typeOrmOptions,
        dataSourceFactory: async (options) => {
          const dataSource = new DataSource(options!);
          const initialized = dataSource.initialize();
          tracked.push({ dataSource, initialized });
          return initialized;
        },
      })
    : TypeOrmModule.forRoot(typeOrmOptions);
  return Test.createTestingModule({
    imports: [typeOrm, EventEmitterModule.forRoot(), recordingCallbackModule(wiring, options, settings.routes)],
    providers: settings.providers ?? [],
  }).setLogger(settings.logger ?? new CapturingLogger());
}

/**
 * Starts a test app over real HTTP settings (`configureHttp`, no default body parser).
 *
 * @example
 * const app = await startTestApp(db, 'forRootAsync', { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] } });
 */
export async function startTestApp(
  db: TestDatabase,
  wiring: Wiring,
  options: RecordingCallbackModuleOptions,
  settings: TestAppSettings = {},
): Promise<NestExpressApplication> {
  const logger = settings.logger ?? new CapturingLogger();
  const moduleRef = await buildTestModule(db, wiring, options, { ...settings, logger }).compile();
  const app = configureHttp(moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false }));
  app.useLogger(logger);
  await app.init();
  return app;
}
