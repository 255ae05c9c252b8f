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
  handleError(error: Error, connection: PgConnection): void;
};

/** A pg client as TypeORM's PostgreSQL runner connects it (pg-native's lacks what pipelining needs). */
interface PgClient {
  constructor: { Query?: PgQueryClass };
  query(query: object): unknown;
  /** The server's transaction status after the last exchange: I idle, T in a transaction, E failed. */
  getTransactionStatus?(): string | null;
}

/**
 * Where a pipelined transaction stands: BEGIN not sent yet (it goes with the first statement), open,
 * committed with its last statement, or failed (an exchange failed: the connection must be discarded).
 */
type PipelineState = 'pending' | 'open' | 'committed' | 'failed';

/** Whether pg's Query class is the one whose messages the pipelined subclass extends (not pg-native's). */
const pipelinable = (Query: PgQueryClass | undefined): Query is PgQueryClass =>
  typeof Query?.prototype.prepare === 'function' &&
  typeof (Query.prototype as { _getRows?: unknown })._getRows === 'function';

/** Throws unless the server answered a statement with the command tag `expected`. */
function expectTag(tag: string | null | undefined, expected: 'BEGIN' | 'COMMIT'): void {
  // A transaction that failed answers COMMIT with ROLLBACK, without an error.
  if (tag !== expected) throw new Error(`${expected} answered ${String(tag)}`);
}

/** Runs a statement on the client as pg would, with no statement before or after it. */
async function plain(client: PgClient, text: string, values: unknown[], name?: string): Promise<PgResult> {
  return (await client.query({ text, values, name })) as PgResult;
}

const states = new WeakMap<QueryRunner, PipelineState>();
const subclasses = new WeakMap<PgQueryClass, PgQueryClass>();

/** A statement without parameters, as Parse, Bind and Execute of the unnamed statement and portal. */
function sendBare(connection: PgConnection, text: string): void {
  connection.parse({ text });
  connection.bind({});
  connection.execute({});
}

/** One statement of an exchange: its text, its parameters, and its prepared-statement name if it has one. */
export interface PipelinedStatement {
  text: string;
  values: unknown[];
  name?: string;
}

type PipelinedQuery = InstanceType<PgQueryClass> & {
  before: readonly string[];
  after: readonly string[];
  /** Statements with parameters, sent after this one's Execute by pg's own Parse, Bind and Describe. */
  following: PipelinedQuery[];
  /** Set on the queries in `following`: Execute only, the exchange's Sync comes from the first query. */
  inner: boolean;
  /** On a query in `following`: why pg could not bind its parameters (pg then ended the exchange). */
  bindError?: Error;
};

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
    following: Pipelined[] = [];
    inner = false;
    bindError?: Error;

    override prepare(connection: PgConnection): void {
      for (const text of this.before) sendBare(connection, text);
      super.prepare(connection);
    }

    /** Query's last step of `prepare` (Execute and Sync): the statements after go between the two. */
    _getRows(connection: PgConnection, rows?: number): void {
      connection.execute({ portal: this.portal, rows });
      if (this.inner) return;
      for (const query of this.following) {
        query.prepare(connection);
        // pg sent a Sync for it: nothing more may follow, or it would run (and COMMIT) after that Sync.
        if (query.bindError) return;
      }
      for (const text of this.after) sendBare(connection, text);
      connection.sync();
    }

    /** pg calls this on a following query only when it cannot bind its parameters, after sending a Sync. */
    override handleError(error: Error, connection: PgConnection): void {
      if (this.inner) this.bindError = error;
      else super.handleError(error, connection);
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
 * pgPipeline.open(runner); ... await pgPipeline.queryAll(runner, [{ text, values }], { commit: true });
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
   * Runs statements in order in the transaction, in one round trip: with BEGIN before the first when
   * the transaction has run nothing yet, with COMMIT after the last when `commit`. Each statement sees
   * what the ones before it wrote, exactly as if each had its own round trip. Returns the rows of each.
   */
  async queryAll(
    runner: QueryRunner,
    list: readonly PipelinedStatement[],
    how: { commit?: boolean } = {},
  ): Promise<Record<string, unknown>[][]> {
    const state = states.get(runner);
    if (state === 'committed') throw new Error('the transaction already committed with its last statement');
    if (state === 'failed') throw new Error('the transaction failed; it can run nothing more');
    if (!list.length) throw new Error('an exchange needs a statement');
    // Until the exchange succeeds the transaction counts as failed, so that a work that catches the error
    // and returns can never commit or hand back a connection inside an aborted transaction.
    states.set(runner, 'failed');
    const client = (await runner.connect()) as PgClient;
    const Query = client.constructor.Query;
    if (!pipelinable(Query)) {
      // pg-native: one statement per round trip, COMMIT when the work returns.
      if (state === 'pending') expectTag((await plain(client, 'BEGIN', [])).command, 'BEGIN');
      const out: Record<string, unknown>[][] = [];
      for (const s of list) out.push((await plain(client, s.text, s.values, s.name)).rows);
      states.set(runner, 'open');
      return out;
    }
    const before = state === 'pending' ? ['BEGIN'] : [];
    const after = how.commit ? ['COMMIT'] : [];
    const Pipelined = pipelinedClass(Query);
    // Extended mode even without parameters: pg would send a parameterless text as a simple query,
    // without the statements before and after it.
    const make = ({ text, values, name }: PipelinedStatement, callback: PgCallback) =>
      new Pipelined({ text, values, name, queryMode: 'extended' }, undefined, callback) as PipelinedQuery;
    // Their answers arrive on the first query, which collects one result per statement; their own
    // callbacks are never called. Unnamed: pg records a parsed name only for the query it runs.
    const inner = (s: PipelinedStatement) => make({ ...s, name: undefined }, () => undefined);
    const following = list.slice(1).map((s) => Object.assign(inner(s), { inner: true }));
    const results = await new Promise<PgResult[]>((resolve, reject) => {
      const query = make(list[0], (error, out) => (error ? reject(error) : resolve(Array.isArray(out) ? out : [out!])));
      query.before = before;
      query.after = after;
      query.following = following;
      client.query(query);
    });
    // The transaction stays failed: the statements before the unbindable one ran in it.
    const unbound = following.find((q) => q.bindError)?.bindError;
    if (unbound) throw unbound;
    // One result per statement, BEGIN first and COMMIT last when they were sent; anything else is an error.
    const tags = results.map((r) => r.command);
    if (results.length !== before.length + list.length + after.length || (before.length && tags[0] !== 'BEGIN')) {
      throw new Error(`the exchange answered ${tags.join(', ')}`);
    }
    if (after.length) expectTag(tags[tags.length - 1], 'COMMIT');
    states.set(runner, how.commit ? 'committed' : 'open');
    return results.slice(before.length, before.length + list.length).map((r) => r.rows);
  },

  /**
   * Ends the transaction after its work returned: COMMIT unless it committed already or never began.
   * Throws when an exchange failed, or when the server's status is not what the state says, so that the
   * caller discards the connection instead of returning it to the pool.
   */
  async finish(runner: QueryRunner): Promise<void> {
    const state = states.get(runner);
    states.delete(runner);
    // Pending: no statement ran, so no BEGIN was sent.
    if (state === undefined || state === 'pending') return;
    if (state === 'failed') throw new Error('the transaction failed; its connection is discarded');
    const client = (await runner.connect()) as PgClient;
    const expected = state === 'open' ? 'T' : 'I'; // committed: idle again
    const status = client.getTransactionStatus?.() ?? expected;
    if (status !== expected) throw new Error(`the connection is in transaction status ${status}, not ${expected}`);
    if (state !== 'open') return;
    expectTag((await plain(client, 'COMMIT', [])).command, 'COMMIT');
  },

  /** Forgets `runner`'s transaction (after a failure, when its connection is destroyed). */
  forget(runner: QueryRunner): void {
    states.delete(runner);
  },
};
