import { QueryRunnerAlreadyReleasedError } from 'typeorm';
import type { Logger, QueryRunner } from 'typeorm';
import { pgPipeline } from './pg-pipeline';
import type { StatementNamer } from './prepared-statements';

/** The part of a `pg` client that named statements use (TypeORM's PostgreSQL runner connects one). */
interface PgClient {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs statements in order straight on the runner's pg client, the only way to name them (prepared
 * statements) or to send them with their transaction's BEGIN or COMMIT, in one round trip (see
 * `pgPipeline`). What `runner.query` would do around them is done here: refuse a released runner, and tell
 * TypeORM's logger. Returns the rows of each.
 *
 * @example
 * const [rows] = await queryOnPgClient(runner, dataSource.logger, [{ text, values }], { namer, commit: false });
 */
export async function queryOnPgClient(
  runner: QueryRunner,
  logger: Logger,
  list: ReadonlyArray<{ text: string; values: unknown[] }>,
  how: { namer?: StatementNamer; commit: boolean },
): Promise<Record<string, unknown>[][]> {
  if (runner.isReleased) throw new QueryRunnerAlreadyReleasedError();
  const client = (await runner.connect()) as PgClient;
  for (const { text, values } of list) logger.logQuery(text, values, runner);
  // The statement that failed is not known in a pipelined exchange: the first stands for them.
  let current = list[0];
  try {
    const pipelined = pgPipeline.has(runner);
    // In one exchange only the first statement can be named (see pgPipeline.queryAll).
    const named = list.map((s, i) => ({ ...s, name: i && pipelined ? undefined : how.namer?.nameFor(client, s.text) }));
    if (pipelined) return await pgPipeline.queryAll(runner, named, { commit: how.commit });
    const out: Record<string, unknown>[][] = [];
    for (const s of named) {
      current = s;
      out.push((await client.query(s)).rows as Record<string, unknown>[]);
    }
    return out;
  } catch (error) {
    logger.logQueryError(error as Error, current.text, current.values, runner);
    throw error;
  }
}

/**
 * Runs statements in order on a runner and returns the rows of each: through TypeORM's `runner.query`,
 * or straight on the pg client where statements are named or pipelined ({@link queryOnPgClient}).
 *
 * @example
 * const [rows] = await runStatements(runner, dataSource.logger, [{ text, values }], { commit: false });
 */
export async function runStatements(
  runner: QueryRunner,
  logger: Logger,
  list: ReadonlyArray<{ text: string; values: unknown[] }>,
  how: { namer?: StatementNamer; commit: boolean },
): Promise<Record<string, unknown>[][]> {
  if (how.namer || pgPipeline.has(runner)) return queryOnPgClient(runner, logger, list, how);
  const out: Record<string, unknown>[][] = [];
  for (const { text, values } of list) out.push((await runner.query(text, values, true)).records ?? []);
  return out;
}
