import { QueryRunnerAlreadyReleasedError } from 'typeorm';
import type { Logger, QueryRunner } from 'typeorm';
import { pgPipeline } from './pg-pipeline';
import type { StatementNamer } from './prepared-statements';

/** The part of a `pg` client that named statements use (TypeORM's PostgreSQL runner connects one). */
interface PgClient {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs one statement straight on the runner's pg client, the only way to name it (prepared statements)
 * or to send it with its transaction's BEGIN or COMMIT (see `pgPipeline`). What `runner.query` would do
 * around it is done here: refuse a released runner, and tell TypeORM's logger. Returns its rows.
 *
 * @example
 * const rows = await queryOnPgClient(runner, dataSource.logger, text, values, { namer, commit: false });
 */
export async function queryOnPgClient(
  runner: QueryRunner,
  logger: Logger,
  text: string,
  values: unknown[],
  how: { namer?: StatementNamer; commit: boolean },
): Promise<Record<string, unknown>[]> {
  if (runner.isReleased) throw new QueryRunnerAlreadyReleasedError();
  const client = (await runner.connect()) as PgClient;
  logger.logQuery(text, values, runner);
  try {
    const name = how.namer?.nameFor(client, text);
    if (pgPipeline.has(runner)) return await pgPipeline.query(runner, text, values, { commit: how.commit, name });
    return (await client.query({ name, text, values })).rows as Record<string, unknown>[];
  } catch (error) {
    logger.logQueryError(error as Error, text, values, runner);
    throw error;
  }
}
