import type { DataSource, EntityManager } from 'typeorm';
import { pgPipeline } from './pg-pipeline';

/** Work done with an entity manager (inside a transaction, or a read). */
export type Work<T> = (em: EntityManager) => Promise<T>;

/**
 * PostgreSQL: runs work on one pooled connection of its own (in a transaction when asked). After a
 * failure the connection is destroyed rather than returned: a statement cut off by `query_timeout` may
 * still be running on it (or the network may be gone), and a reused connection would queue every later
 * request behind it, so the app would keep failing after the database came back. Closing it also rolls
 * the transaction back on the server. `'pipelined'`: a transaction whose BEGIN and COMMIT travel with its
 * statements (see `pgPipeline`), for works that run only the gateway's statements.
 */
export async function onOwnConnection<T>(
  dataSource: DataSource,
  work: Work<T>,
  transactional: boolean | 'pipelined',
): Promise<T> {
  const runner = dataSource.createQueryRunner() as ReturnType<DataSource['createQueryRunner']> & {
    releasePostgresConnection(error?: Error): Promise<void>;
  };
  try {
    if (transactional === true) await runner.startTransaction();
    if (transactional === 'pipelined') pgPipeline.open(runner);
    const result = await work(runner.manager);
    if (transactional === true) await runner.commitTransaction();
    if (transactional === 'pipelined') await pgPipeline.finish(runner);
    await runner.release();
    return result;
  } catch (error) {
    pgPipeline.forget(runner);
    await runner.releasePostgresConnection(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/**
 * Runs read-only work. On PostgreSQL it gets a pooled connection of its own, discarded if the work fails
 * (so a timed-out statement never poisons the pool); on SQLite it reads on the shared connection.
 *
 * @example
 * const n = await readOnOwnConnection(dataSource, (em) => em.getRepository(DeliveryEntity).count());
 */
export function readOnOwnConnection<T>(dataSource: DataSource, work: Work<T>): Promise<T> {
  return dataSource.options.type === 'postgres' ? onOwnConnection(dataSource, work, false) : work(dataSource.manager);
}

/**
 * Connections of a PostgreSQL DataSource's pool (TypeORM's `poolSize`, or `extra.max`, else pg's default
 * 10); undefined on SQLite, which has one connection.
 *
 * @example
 * if ((poolSizeOf(dataSource) ?? Infinity) <= concurrency) warn();
 */
export function poolSizeOf(dataSource: DataSource): number | undefined {
  if (dataSource.options.type !== 'postgres') return undefined;
  const options = dataSource.options as { poolSize?: number; extra?: { max?: number } };
  return options.extra?.max ?? options.poolSize ?? 10;
}
