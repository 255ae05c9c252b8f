import { DataSource } from 'typeorm';
import { databaseOptions } from '../ormconfig';
import { DatabaseGateway } from '../src/recording-callback/storage/database.gateway';
import { pgPipeline } from '../src/recording-callback/storage/pg-pipeline';
import { statement } from '../src/recording-callback/storage/statement';
import { createTestDatabase } from './support/databases';
import { recordingQueries } from './support/pg-protocol';
import type { TestDatabase } from './support/databases';

/** `DatabaseGateway.writeWithReads` on PostgreSQL: one statement, one snapshot, rows as JSON. */
describe('writeWithReads on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let gateway: DatabaseGateway;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    ds = await new DataSource(databaseOptions({ databaseUrl: db.databaseUrl, poolSize: 2 })).initialize();
    await ds.query('CREATE TABLE wr (id serial PRIMARY KEY, k text UNIQUE NOT NULL, at timestamptz, n bigint)');
    gateway = new DatabaseGateway(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('runs the write and its reads in one statement; the reads see the table as before the write', async () => {
    await ds.query(`INSERT INTO wr (k, at, n) VALUES ('old', '2020-03-08T14:10:25.123Z', 9007199254740991)`);
    const sent: string[] = [];
    const logQuery = ds.logger.logQuery.bind(ds.logger);
    ds.logger.logQuery = (query, ...rest) => {
      sent.push(query);
      return logQuery(query, ...rest);
    };
    let result: Awaited<ReturnType<DatabaseGateway['writeWithReads']>>;
    try {
      result = await gateway.transaction((em) =>
        gateway.writeWithReads<{ id: number; k: string }>(
          em,
          statement(`INSERT INTO wr (k) VALUES (?), (?) ON CONFLICT (k) DO NOTHING RETURNING id, k`, ['old', 'new']),
          () => [
            statement('SELECT k, at, n FROM wr WHERE k IN (?, ?) ORDER BY k', ['old', 'new']),
            statement('SELECT k FROM wr WHERE k = ?', ['none']),
          ],
        ),
      );
    } finally {
      ds.logger.logQuery = logQuery;
    }
    expect(sent.filter((q) => /wr/.test(q))).toHaveLength(1);
    expect(result.rows).toEqual([{ id: expect.any(Number), k: 'new' }]);
    // The snapshot before the write: 'new' is not there yet. Datetimes come as ISO text, bigints as numbers.
    // Datetimes as ISO text with the session's offset, whatever the server's TimeZone.
    expect(result.reads).toEqual([[{ k: 'old', at: expect.any(String), n: 9007199254740991 }], []]);
    expect(result.reads![0][0].at).toMatch(/^2020-03-08T\d\d:\d0:25\.123[+-]\d\d:\d\d$/);
    expect(gateway.dialect.readTime(result.reads![0][0].at)).toEqual(new Date('2020-03-08T14:10:25.123Z'));
    expect((await ds.query(`SELECT k FROM wr ORDER BY k`)).map((r: { k: string }) => r.k)).toEqual(['new', 'old']);
  });

  it('with no reads runs the write alone', async () => {
    const result = await gateway.transaction((em) =>
      gateway.writeWithReads<{ k: string }>(
        em,
        statement(`INSERT INTO wr (k) VALUES (?) RETURNING k`, ['solo']),
        () => [],
      ),
    );
    expect(result).toEqual({ rows: [{ k: 'solo' }], reads: null });
  });
});

/**
 * A group-commit batch on PostgreSQL: BEGIN goes with its first statement and COMMIT with its last
 * (`commitWith`), so a batch of three statements takes three round trips. Checked against the server:
 * one transaction, all or nothing, and nothing left open on the connection.
 */
describe('pipelined batch transactions on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let gateway: DatabaseGateway;
  const limits = { maxSize: 10, maxWaitMs: 1, concurrency: 1 };

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    ds = await new DataSource(databaseOptions({ databaseUrl: db.databaseUrl, poolSize: 2 })).initialize();
    await ds.query('CREATE TABLE pl (id serial PRIMARY KEY, k text UNIQUE NOT NULL, v int CHECK (v >= 0))');
    // Checked only at COMMIT: a violation makes the COMMIT itself fail.
    await ds.query(
      'CREATE TABLE pl_ref (k text NOT NULL REFERENCES pl (k) DEFERRABLE INITIALLY DEFERRED, tx text NOT NULL)',
    );
    gateway = new DatabaseGateway(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const keys = async () => (await ds.query(`SELECT k FROM pl ORDER BY k`)).map((r: { k: string }) => r.k);
  /** No session of this database is left inside a transaction. */
  const openTransactions = async () =>
    (
      await ds.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      )
    )[0].n;

  it('runs the statements of a batch in one transaction and commits with the last', async () => {
    const store = gateway.batcher<string, string>(
      async (em, items) => {
        const [{ tx }] = await gateway.query<{ tx: string }>(em, statement('SELECT txid_current()::text AS tx'));
        await gateway.query(em, statement(`INSERT INTO pl (k, v) SELECT unnest(?::text[]), 1`, [items]));
        await gateway.commitWith(em, [
          statement(`UPDATE pl SET v = 2 WHERE k = ANY(?::text[])`, [items]),
          statement(`INSERT INTO pl_ref (k, tx) SELECT unnest(?::text[]), ?`, [items, tx]),
        ]);
        return items.map(() => tx);
      },
      limits,
      { pipelined: true },
    );
    const txs = await Promise.all(['a1', 'a2', 'a3'].map((k) => store(k)));
    expect(new Set(txs).size).toBe(1);
    // Every row was written by the transaction that the first statement saw.
    const rows = await ds.query(
      `SELECT r.tx = r.xmin::text AS same_ref, p.xmin::text = r.tx AS same_row, p.v FROM pl_ref r JOIN pl p USING (k)`,
    );
    expect(rows).toEqual(Array(3).fill({ same_ref: true, same_row: true, v: 2 }));
    expect(await openTransactions()).toBe(0);
  });

  it('rolls back everything when the last statement fails, or when its COMMIT does', async () => {
    const store = gateway.batcher<{ k: string; v: number; ref: string }, string>(
      async (em, items) => {
        await gateway.query(em, statement(`INSERT INTO pl (k, v) VALUES (?, 0)`, [items[0].k]));
        await gateway.commitWith(em, [
          statement(`UPDATE pl SET v = ? WHERE k = ?`, [items[0].v, items[0].k]),
          statement(`INSERT INTO pl_ref (k, tx) VALUES (?, 'x')`, [items[0].ref]),
        ]);
        return ['stored'];
      },
      limits,
      { pipelined: true },
    );
    // The CHECK refuses the update: the statement fails, the insert before it is undone.
    await expect(store({ k: 'b1', v: -1, ref: 'b1' })).rejects.toThrow();
    // The deferred reference names no row: only the COMMIT fails, and it undoes both statements.
    await expect(store({ k: 'b2', v: 1, ref: 'nowhere' })).rejects.toThrow();
    expect(await keys()).not.toEqual(expect.arrayContaining(['b1']));
    expect(await keys()).not.toEqual(expect.arrayContaining(['b2']));
    await expect(store({ k: 'b3', v: 1, ref: 'b3' })).resolves.toBe('stored');
    expect(await keys()).toEqual(expect.arrayContaining(['b3']));
    expect(await openTransactions()).toBe(0);
  });

  it('commits a batch whose work ends without commitWith, and sends nothing for a work without statements', async () => {
    const plain = gateway.batcher<string, number>(
      async (em, items) => {
        await gateway.query(em, statement(`INSERT INTO pl (k, v) SELECT unnest(?::text[]), 5`, [items]));
        return items.map(() => 1);
      },
      limits,
      { pipelined: true },
    );
    const idle = gateway.batcher<string, number>(async (_em, items) => items.map(() => 0), limits, { pipelined: true });
    const { exchanges } = await recordingQueries(async () => {
      await expect(plain('c1')).resolves.toBe(1);
      await expect(idle('c2')).resolves.toBe(0);
    });
    // BEGIN with the insert, then COMMIT alone when the work returned; nothing for the idle work.
    expect(exchanges.filter((e) => !e.some((q) => /pg_stat_activity/.test(q)))).toEqual([
      ['BEGIN', 'INSERT INTO pl (k, v) SELECT unnest($1::text[]), 5'],
      ['COMMIT'],
    ]);
    expect(await keys()).toEqual(expect.arrayContaining(['c1']));
    expect(await keys()).not.toEqual(expect.arrayContaining(['c2']));
    expect(await openTransactions()).toBe(0);
  });

  it('never commits, nor pools a connection, after a failure the work caught', async () => {
    // One connection: a connection handed back inside an aborted transaction would fail the next query.
    const one = await new DataSource(databaseOptions({ databaseUrl: db.databaseUrl, poolSize: 1 })).initialize();
    try {
      const narrow = new DatabaseGateway(one);
      const swallowing = (fail: 'first' | 'commit') =>
        narrow.batcher<string, string>(
          async (em, items) => {
            try {
              if (fail === 'first')
                await narrow.query(em, statement(`INSERT INTO pl (k, v) VALUES (?, -1)`, [items[0]]));
              await narrow.query(em, statement(`INSERT INTO pl (k, v) VALUES (?, 1)`, [items[0]]));
              await narrow.commitWith(em, [statement(`INSERT INTO pl_ref (k, tx) VALUES ('nowhere', 'x')`)]);
            } catch {
              // A work that swallows the failure must still not report its batch stored.
            }
            return ['stored'];
          },
          limits,
          { pipelined: true },
        );
      await expect(swallowing('first')('e1')).rejects.toThrow(/failed/);
      await expect(swallowing('commit')('e2')).rejects.toThrow(/failed/);
      await expect(one.query('SELECT 1 AS ok')).resolves.toEqual([{ ok: 1 }]);
    } finally {
      await one.destroy();
    }
    expect(await keys()).not.toEqual(expect.arrayContaining(['e1']));
    expect(await keys()).not.toEqual(expect.arrayContaining(['e2']));
    expect(await openTransactions()).toBe(0);
  });

  it('without `pipelined` runs a TypeORM transaction, so a work may use the entity manager', async () => {
    const store = gateway.batcher<string, string>(async (em, items) => {
      await em.query(`INSERT INTO pl (k, v) VALUES ($1, 1)`, [items[0]]);
      await em.query(`INSERT INTO pl (k, v) VALUES ($1, -1)`, [`${items[0]}-refused`]);
      return ['stored'];
    }, limits);
    await expect(store('f1')).rejects.toThrow();
    // The first insert went with the second: one transaction.
    expect(await keys()).not.toEqual(expect.arrayContaining(['f1']));
  });

  it('queryInOrder sends statements in one exchange, each on a snapshot that sees the ones before it', async () => {
    const store = gateway.batcher<string, unknown[]>(
      async (em, items) => {
        const rows = await gateway.queryInOrder(em, [
          statement(`INSERT INTO pl (k, v) SELECT unnest(?::text[]), 3 RETURNING k`, [items]),
          statement(`SELECT count(*)::int AS n FROM pl WHERE k = ANY(?::text[])`, [items]),
          statement(`SELECT txid_current()::text AS tx`),
        ]);
        await gateway.commitWith(em, [statement(`UPDATE pl SET v = 4 WHERE k = ANY(?::text[])`, [items])]);
        return items.map(() => rows);
      },
      limits,
      { pipelined: true },
    );
    const { result, exchanges } = await recordingQueries(() => store('q1'));
    const [inserted, counted, [{ tx }]] = result as [unknown[], unknown[], Array<{ tx: string }>];
    expect(inserted).toEqual([{ k: 'q1' }]);
    // The count ran after the insert in the same exchange, and saw its row.
    expect(counted).toEqual([{ n: 1 }]);
    expect(exchanges.map((e) => e.map((q) => q.split(' ')[0]))).toEqual([
      ['BEGIN', 'INSERT', 'SELECT', 'SELECT'],
      ['UPDATE', 'COMMIT'],
    ]);
    const [row] = await ds.query(`SELECT v, xmin::text AS tx FROM pl WHERE k = 'q1'`);
    expect(row).toEqual({ v: 4, tx });
    // A failing statement inside the exchange undoes the ones before it, and nothing is left open.
    const failing = gateway.batcher<string, string>(
      async (em, items) => {
        await gateway.queryInOrder(em, [
          statement(`INSERT INTO pl (k, v) VALUES (?, 1)`, [items[0]]),
          statement(`UPDATE pl SET v = -1 WHERE k = ?`, [items[0]]),
        ]);
        return ['stored'];
      },
      limits,
      { pipelined: true },
    );
    await expect(failing('q2')).rejects.toThrow();
    expect(await keys()).not.toEqual(expect.arrayContaining(['q2']));
    expect(await openTransactions()).toBe(0);
  });

  it('sends nothing after a statement whose parameters cannot be bound, and commits nothing', async () => {
    // pg turns a parameter into text while it writes the statement; this one throws there.
    const unbindable = {
      toPostgres() {
        throw new Error('cannot bind this value');
      },
    };
    const runner = ds.createQueryRunner() as ReturnType<DataSource['createQueryRunner']> & {
      releasePostgresConnection(error: Error): Promise<void>;
    };
    try {
      pgPipeline.open(runner);
      const first = `INSERT INTO pl (k, v) VALUES ('u1', 1)`;
      const { result, exchanges } = await recordingQueries(() =>
        pgPipeline
          .queryAll(
            runner,
            [
              { text: first, values: [] },
              { text: `INSERT INTO pl (k, v) VALUES ($1, 1)`, values: [unbindable] },
              { text: `INSERT INTO pl (k, v) VALUES ('u3', 1)`, values: [] },
            ],
            { commit: true },
          )
          .catch((error: Error) => error),
      );
      // The error is the value's own; the exchange ended at the Sync pg sent for it, so neither the third
      // statement nor the COMMIT went out.
      expect(result).toEqual(new Error('cannot bind this value'));
      expect(exchanges).toEqual([['BEGIN', first]]);
      await expect(pgPipeline.finish(runner)).rejects.toThrow(/failed/);
    } finally {
      pgPipeline.forget(runner);
      // As the gateway does after a failed exchange: the connection goes, and its transaction with it.
      await runner.releasePostgresConnection(new Error('discarded'));
    }
    expect(await keys()).not.toEqual(expect.arrayContaining(['u1']));
    expect(await keys()).not.toEqual(expect.arrayContaining(['u3']));
    expect(await openTransactions()).toBe(0);
  });

  it('refuses a statement after the one that committed', async () => {
    const store = gateway.batcher<string, string>(
      async (em, items) => {
        await gateway.commitWith(em, [statement(`INSERT INTO pl (k, v) VALUES (?, 7)`, [items[0]])]);
        await gateway.query(em, statement('SELECT 1'));
        return ['unreachable'];
      },
      limits,
      { pipelined: true },
    );
    await expect(store('d1')).rejects.toThrow(/already committed/);
    // The COMMIT that went with the insert stands.
    expect(await keys()).toEqual(expect.arrayContaining(['d1']));
    expect(await openTransactions()).toBe(0);
  });
});
