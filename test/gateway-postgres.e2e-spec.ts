import { DataSource } from 'typeorm';
import { databaseOptions } from '../ormconfig';
import { DatabaseGateway } from '../src/recording-callback/storage/database.gateway';
import { statement } from '../src/recording-callback/storage/statement';
import { createTestDatabase } from './support/databases';
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
