/**
 * What `npm run reconcile` and `npm run doctor` share: the host app's settings from the environment
 * (database, keys, HUAWEI_CLOUD_*), and the library started as a Nest application context on the app's
 * database with reconciliation on, running no deliveries (a running app's poller delivers what a run
 * stores, or the app's next start does).
 */
import { existsSync } from 'node:fs';
import type { INestApplicationContext } from '@nestjs/common';
import type { HostConfig } from '../src/host/host-config';

import { Failure, startLibraryContext } from './library-context';

export { Failure };

/** A usage error: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

/**
 * The host settings, with reconciliation required.
 *
 * @example
 * const config = hostSettings(); // throws UsageError without HUAWEI_CLOUD_AK/SK/PROJECT_ID
 */
export function hostSettings(): HostConfig & { reconcile: NonNullable<HostConfig['reconcile']> } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadHostConfig } = require('../src/host/host-config') as typeof import('../src/host/host-config');
  let config: HostConfig;
  try {
    config = loadHostConfig(process.env);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (!config.reconcile) {
    throw new UsageError(
      'reconciliation is not configured: set HUAWEI_CLOUD_AK, HUAWEI_CLOUD_SK, HUAWEI_CLOUD_PROJECT_ID and ' +
        'HUAWEI_CLOUD_REGION (or HUAWEI_LIVE_ENDPOINT), as for the app',
    );
  }
  if (!config.databaseUrl && !existsSync(config.sqlitePath)) {
    throw new Failure(`no SQLite database at ${config.sqlitePath}: set SQLITE_PATH (or DATABASE_URL) as for the app`);
  }
  return config as HostConfig & { reconcile: NonNullable<HostConfig['reconcile']> };
}

/**
 * Starts the library on the app's database with the app's keys and reconciliation; close it when done.
 *
 * @example
 * const app = await openReconcileContext(config); try { … } finally { await app.close(); }
 */
export async function openReconcileContext(
  config: HostConfig & { reconcile: NonNullable<HostConfig['reconcile']> },
): Promise<INestApplicationContext> {
  // Loaded here, not at the top: bad arguments are reported at once, without loading Nest, the library
  // and the database drivers (seconds). The scripts are compiled to CommonJS, where require() is plain.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Module } = require('@nestjs/common') as typeof import('@nestjs/common');
  const { TypeOrmModule } = require('@nestjs/typeorm') as typeof import('@nestjs/typeorm');
  const library = require('../src/recording-callback') as typeof import('../src/recording-callback');
  const { databaseOptions } = require('../ormconfig') as typeof import('../ormconfig');
  /* eslint-enable @typescript-eslint/no-require-imports */

  @Module({
    imports: [
      TypeOrmModule.forRoot({ ...databaseOptions({ ...config, poolSize: 2 }), logging: false, retryAttempts: 0 }),
      library.RecordingCallbackModule.forRoot({
        auth: { algorithm: config.algorithm, keys: config.keys },
        delivery: { run: false, pollIntervalMs: 0 },
        watchdog: { checkIntervalMs: 0 },
        // One run per command: no timer, no start-up check.
        reconcile: { ...config.reconcile, intervalSeconds: 0, checkAtStartup: false },
      }),
    ],
  })
  class ReconcileCliModule {}

  return startLibraryContext(ReconcileCliModule);
}

/** Runs a command's main, printing usage errors (exit 2) and failures (exit 1) without a stack trace. */
export function runMain(main: () => Promise<number>, usage: string): void {
  main().then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`error: ${e.message}\n\n${usage}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
