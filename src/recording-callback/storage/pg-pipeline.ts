import type { QueryRunner } from 'typeorm';

/** The messages of pg's protocol connection that a pipelined query writes. */
interface PgConnection {
  parse(message: { text: string }): void;
  bind(message: Record<string, never>): void;
  execute(message: { portal?: string; rows?: number }): void;
  sync(): void;
}

/** One result of a pg query: its rows and the server's command tag. */
interface PgResult {
  command: string | null;
  rows: Record<string, unknown>[];
}

type PgCallback = (error: Error | null, results?: PgResult | PgResult[]) => void;

/** pg's `Query` class (`Client.Query`), the part the pipelined subclass builds on. */
type PgQueryClass = new (
  config: { text: string; values: unknown[]; name?: string; queryMode: 'extended' },
  values: undefined,
  callback: PgCallback,
) => {
  portal: string;
  prepare(connection: PgConnection): void;
};

/** A pg client as TypeORM's PostgreSQL runner connects it. */
interface PgClient {
  constructor: { Query?: PgQueryClass };
  query(query: object): unknown;
}

/**
 * Where a pipelined transaction stands: BEGIN not sent yet (it goes with the first statement), open, or
 * committed with its last statement.
 */
type PipelineState = 'pending' | 'open' | 'committed';

const states = new WeakMap<QueryRunner, PipelineState>();
const subclasses = new WeakMap<PgQueryClass, PgQueryClass>();

/** A statement without parameters, as Parse, Bind and Execute of the unnamed statement and portal. */
function sendBare(connection: PgConnection, text: string): void {
  connection.parse({ text });
  connection.bind({});
  connection.execute({});
}

/**
 * pg's Query with statements sent before and after it in the same extended-protocol exchange (one
 * Sync): the server runs them in order and answers them together, in one round trip. pg's own result
 * handling collects one result per statement; an error skips the rest, up to the Sync.
 */
function pipelinedClass(Query: PgQueryClass): PgQueryClass {
  const cached = subclasses.get(Query);
  if (cached) return cached;
  class Pipelined extends Query {
    before: readonly string[] = [];
    after: readonly string[] = [];

    override prepare(connection: PgConnection): void {
      for (const text of this.before) sendBare(connection, text);
      super.prepare(connection);
    }

    /** Query's last step of `prepare` (Execute and Sync): the statements after go between the two. */
    _getRows(connection: PgConnection, rows?: number): void {
      connection.execute({ portal: this.portal, rows });
      for (const text of this.after) sendBare(connection, text);
      connection.sync();
    }
  }
  subclasses.set(Query, Pipelined);
  return Pipelined;
}

/**
 * Transactions on PostgreSQL whose BEGIN travels with their first statement, and whose COMMIT may
 * travel with their last: a group-commit batch then costs two round trips less. The runner's TypeORM
 * transaction is never started, so only the module's own statements (through the gateway) may run in
 * such a transaction; a failure destroys the connection, which rolls the transaction back.
 *
 * @example
 * pgPipeline.open(runner); ... await pgPipeline.query(runner, text, values, { commit: true });
 */
export const pgPipeline = {
  /** Starts a transaction on `runner` whose BEGIN goes with its first statement. */
  open(runner: QueryRunner): void {
    states.set(runner, 'pending');
  },

  /** Whether `runner` runs such a transaction (still to finish). */
  has(runner: QueryRunner): boolean {
    return states.has(runner);
  },

  /**
   * Runs one statement in the transaction: with BEGIN before it when it is the first, with COMMIT after
   * it when `commit` (it must then be the last). Returns its rows.
   */
  async query(
    runner: QueryRunner,
    text: string,
    values: unknown[],
    how: { commit?: boolean; name?: string } = {},
  ): Promise<Record<string, unknown>[]> {
    const state = states.get(runner);
    if (state === 'committed') throw new Error('the transaction already committed with its last statement');
    const client = (await runner.connect()) as PgClient;
    const Query = client.constructor.Query;
    if (!Query) throw new Error('the PostgreSQL driver has no Query class (pg 8 expected)');
    const before = state === 'pending' ? ['BEGIN'] : [];
    const after = how.commit ? ['COMMIT'] : [];
    const results = await new Promise<PgResult[]>((resolve, reject) => {
      const Pipelined = pipelinedClass(Query);
      // Extended mode even without parameters: pg would send a parameterless text as a simple query,
      // without the statements before and after it.
      const query = new Pipelined({ text, values, name: how.name, queryMode: 'extended' }, undefined, (error, out) =>
        error ? reject(error) : resolve(Array.isArray(out) ? out : [out!]),
      ) as InstanceType<PgQueryClass> & { before: readonly string[]; after: readonly string[] };
      query.before = before;
      query.after = after;
      client.query(query);
    });
    states.set(runner, how.commit ? 'committed' : 'open');
    if (how.commit && results[results.length - 1]?.command !== 'COMMIT') {
      throw new Error(`COMMIT answered ${String(results[results.length - 1]?.command)}`);
    }
    return results[before.length].rows;
  },

  /** Ends the transaction after its work returned: COMMIT unless it committed already or never began. */
  async finish(runner: QueryRunner): Promise<void> {
    const state = states.get(runner);
    states.delete(runner);
    if (state !== 'open') return;
    const client = (await runner.connect()) as PgClient;
    const result = (await client.query({ text: 'COMMIT' })) as PgResult;
    // A transaction that failed answers COMMIT with ROLLBACK, without an error.
    if (result.command !== 'COMMIT') throw new Error(`COMMIT answered ${String(result.command)}`);
  },

  /** Forgets `runner`'s transaction (after a failure, when its connection is destroyed). */
  forget(runner: QueryRunner): void {
    states.delete(runner);
  },
};
