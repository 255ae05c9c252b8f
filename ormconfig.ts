import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import 'reflect-metadata';
import { DataSource, DataSourceOptions } from 'typeorm';
// Direct imports keep the migration CLI from loading all of Nest through the library's index.
import { RECORDING_CALLBACK_MIGRATIONS, runMigrationsLocked } from './src/recording-callback/migrations';
import { RECORDING_CALLBACK_ENTITIES } from './src/recording-callback/recording-callback.entities';

/**
 * Database settings of the host app: PostgreSQL when `DATABASE_URL` is a postgres:// URL, else an
 * embedded SQLite file (WAL mode, `synchronous = FULL`, busy timeout). Used by the app and by the TypeORM migration CLI.
 *
 * @example
 * new DataSource(databaseOptions({ databaseUrl: 'postgres://app@db/app' }));
 */
export function databaseOptions(env: {
  databaseUrl?: string;
  sqlitePath?: string;
  poolSize?: number;
}): DataSourceOptions {
  const common = {
    entities: [...RECORDING_CALLBACK_ENTITIES],
    migrations: [...RECORDING_CALLBACK_MIGRATIONS],
    synchronize: false,
  };
  if (env.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(env.databaseUrl)) {
      throw new Error('DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite database)');
    }
    return {
      ...common,
      type: 'postgres',
      url: env.databaseUrl,
      // Bounded waits, so a database outage becomes a prompt 503 instead of a hung request.
      extra: { max: env.poolSize ?? 10, connectionTimeoutMillis: 5000, query_timeout: 10000 },
    };
  }
  const database = env.sqlitePath ?? 'data/recordings.sqlite';
  if (database !== ':memory:') mkdirSync(dirname(database), { recursive: true });
  // better-sqlite3 waits for a lock synchronously, blocking the event loop: keep the busy timeout short.
  // Left unset, better-sqlite3 runs a WAL connection with synchronous NORMAL, whose COMMIT does not reach
  // the disk. FULL: each group commit is on disk before its callbacks are answered. (Under NORMAL the
  // module's group commit flushes the WAL itself: docs/production.md.)
  const prepareDatabase = (db: { pragma(source: string): unknown }) => void db.pragma('synchronous = FULL');
  return { ...common, type: 'better-sqlite3', database, enableWAL: true, timeout: 1000, prepareDatabase };
}

/** DataSource for `typeorm migration:run -d dist/ormconfig.js`, configured from the environment. */
export default new DataSource(
  databaseOptions({
    databaseUrl: process.env.DATABASE_URL || undefined,
    sqlitePath: process.env.SQLITE_PATH || undefined,
  }),
);

export { runMigrationsLocked };
