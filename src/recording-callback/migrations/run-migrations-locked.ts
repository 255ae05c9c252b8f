import type { DataSource } from 'typeorm';

/** Advisory lock key that serialises migrations of instances starting together on one PostgreSQL. */
const MIGRATION_LOCK = 727_465_300;

/**
 * Runs pending migrations. On PostgreSQL it first takes a session advisory lock, because TypeORM takes
 * none: instances starting together on an empty database would otherwise create the same tables at once.
 * The others wait, then find nothing left to run.
 *
 * @example
 * TypeOrmModule.forRootAsync({
 *   useFactory,
 *   dataSourceFactory: async (options) => runMigrationsLocked(await new DataSource(options!).initialize()),
 * })
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<DataSource> {
  try {
    return await migrate(dataSource);
  } catch (error) {
    // A half-started app must not keep connections open, or a retry would leak a pool each time.
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
}

async function migrate(dataSource: DataSource): Promise<DataSource> {
  if (dataSource.options.type !== 'postgres') {
    await dataSource.runMigrations();
    return dataSource;
  }
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await dataSource.runMigrations();
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
  return dataSource;
}
