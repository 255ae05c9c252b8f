// The one way the e2e suites start an app in-process. (The built host *process* is started by
// `spawnHost` in child-host.ts: that is the only other way, for what needs a real process.)
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplication, LoggerService, ModuleMetadata, Provider } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../../ormconfig';
import { AppModule } from '../../src/app.module';
import type { HostConfig } from '../../src/host/host-config';
import { configureHttp } from '../../src/host/http-setup';
import { setupOpenApi } from '../../src/host/openapi';
import { RecordingCallbackModule } from '../../src/recording-callback';
import type { RecordingCallbackModuleOptions, RecordingCallbackRouteExtras } from '../../src/recording-callback';
import { KEY_A } from './callbacks';
import { CapturingLogger } from './capturing-logger';
import type { TestDatabase } from './databases';

/** The two ways an app can configure the module, for `describe.each(WIRINGS)`. */
export const WIRINGS = ['forRoot', 'forRootAsync'] as const;
/** How the test app configures the module: `forRoot(options)` or `forRootAsync({ useFactory })`. */
export type Wiring = (typeof WIRINGS)[number];

/** Token under which forRootAsync test apps provide the module options, as a config module would. */
const TEST_RECORDING_OPTIONS = Symbol('TEST_RECORDING_OPTIONS');

/** A DataSource created by a test app, with its initialisation. */
export interface TrackedDataSource {
  dataSource: DataSource;
  initialized: Promise<unknown>;
}

/** What every app {@link startApp} starts may add. */
interface AppParts {
  /** More modules of the app (e.g. `RecordingHealthModule.forRoot()`). */
  imports?: ModuleMetadata['imports'];
  /** Controllers of the app itself. */
  controllers?: ModuleMetadata['controllers'];
  /** Providers of the app itself (event handlers, guards). */
  providers?: Provider[];
  /** Receives every log line from creation on; a silent {@link CapturingLogger} when not given. */
  logger?: LoggerService;
}

/**
 * A user's app: TypeORM on the test database (the module's migrations run), EventEmitterModule, and
 * `RecordingCallbackModule` wired with forRoot (default) or forRootAsync.
 */
export interface ModuleApp extends AppParts {
  /** The module's options, as an app passes them. */
  module: RecordingCallbackModuleOptions;
  /** forRoot when not given. */
  wiring?: Wiring;
  /** Route paths of the module. */
  routes?: Partial<RecordingCallbackRouteExtras>;
  /**
   * Receives each DataSource the app creates (and its initialisation). Nest creates providers of all
   * modules in parallel, so when start-up fails on the module's options the DataSource may still be
   * connecting and migrating; {@link releaseDataSources} waits for it and closes it.
   */
  dataSources?: TrackedDataSource[];
  host?: never;
}

/**
 * The host app (`AppModule`, what `npm start` runs, with its HTTP timeouts) with `host` over the test
 * defaults (HMACSHA256 with `KEY_A`, pool of 10, no development key).
 */
export interface HostApp extends AppParts {
  /** Host settings over the test defaults (what `loadHostConfig` would read from the environment). */
  host: Partial<HostConfig>;
  /** Serve /docs and /docs-json, as `main.ts` does. */
  openApi?: boolean;
  module?: never;
}

/** What {@link startApp} starts: a user's app with the module's options, or the host app. */
export type StartApp = ModuleApp | HostApp;

/**
 * `RecordingCallbackModule.forRoot(options)` or `.forRootAsync({ imports, inject, useFactory })` whose
 * factory reads the options from an imported module (like `@nestjs/config` would).
 */
function recordingCallbackModule(
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

/** TypeORM as a user's app sets it up, its DataSource reported to `tracked` when given. */
function typeOrmFor(db: TestDatabase, tracked: TrackedDataSource[] | undefined): DynamicModule {
  const typeOrmOptions = {
    ...databaseOptions({ databaseUrl: db.databaseUrl, sqlitePath: db.sqlitePath }),
    migrationsRun: true,
    retryAttempts: 1,
    retryDelay: 100,
  };
  if (!tracked) return TypeOrmModule.forRoot(typeOrmOptions);
  return TypeOrmModule.forRootAsync({
    useFactory: () => typeOrmOptions,
    dataSourceFactory: async (options) => {
      const dataSource = new DataSource(options!);
      const initialized = dataSource.initialize();
      tracked.push({ dataSource, initialized });
      return initialized;
    },
  });
}

/** The host's configuration for a test: the test database and key, `over` on top. */
function hostConfig(db: TestDatabase, over: Partial<HostConfig>): HostConfig {
  return {
    port: 0,
    databaseUrl: db.databaseUrl,
    sqlitePath: db.sqlitePath,
    poolSize: 10,
    algorithm: 'HMACSHA256',
    keys: [KEY_A],
    devKey: false,
    toleranceSeconds: 300,
    ...over,
  };
}

/**
 * Starts an app in this process on a test database, with the host's HTTP settings (`configureHttp`: the
 * bounded body reader, helmet, the exception filter, shutdown hooks) and initialised, not listening:
 * use `request(app.getHttpServer())`, or `app.listen(0, '127.0.0.1')` for a real port.
 *
 * @example
 * const app = await startApp(db, { module: { auth: { algorithm: 'MD5', keys: [KEY_A] } }, wiring: 'forRootAsync' });
 * const host = await startApp(db, { host: { queryToken: 'secret' }, openApi: true });
 */
export async function startApp(db: TestDatabase, what: StartApp): Promise<NestExpressApplication> {
  const logger = what.logger ?? new CapturingLogger();
  const config = what.host ? hostConfig(db, what.host) : undefined;
  const main = what.module
    ? [
        typeOrmFor(db, what.dataSources),
        EventEmitterModule.forRoot(),
        recordingCallbackModule(what.wiring ?? 'forRoot', what.module, what.routes),
      ]
    : [AppModule.forRoot(config!)];
  const moduleRef = await Test.createTestingModule({
    imports: [...main, ...(what.imports ?? [])],
    controllers: what.controllers ?? [],
    providers: what.providers ?? [],
  })
    .setLogger(logger)
    .compile();
  const app = configureHttp(
    moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false }),
    config?.http,
  );
  app.useLogger(logger);
  if (what.host && what.openApi) setupOpenApi(app, { queryToken: !!config!.queryToken });
  await app.init();
  return app;
}

/**
 * Waits for tracked DataSources to finish initialising, then destroys those still open.
 *
 * @example
 * const dataSources: TrackedDataSource[] = []; try { await startApp(db, { module, dataSources }) } finally { await releaseDataSources(dataSources) }
 */
export async function releaseDataSources(tracked: TrackedDataSource[]): Promise<void> {
  for (const { dataSource, initialized } of tracked.splice(0)) {
    await initialized.catch(() => undefined);
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

/** Closes an app, ignoring an app that failed to start. */
export async function closeApp(app: INestApplication | undefined): Promise<void> {
  if (app) await app.close();
}
