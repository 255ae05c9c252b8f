import { DataSource } from 'typeorm';
import { databaseOptions } from '../ormconfig';
import { DatabaseGateway } from '../src/recording-callback/storage/database.gateway';
import { statement } from '../src/recording-callback/storage/statement';
import { StorageDataError } from '../src/recording-callback/storage/storage.errors';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';

/**
 * `database.preparedStatements` on PostgreSQL: statements become named prepared statements of the
 * connection. One pooled connection, so that what `pg_prepared_statements` (which shows the current
 * session's) lists is what the gateway's earlier statements left there.
 */
describe('named prepared statements on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    ds = await new DataSource(databaseOptions({ databaseUrl: db.databaseUrl, poolSize: 1 })).initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const prepared = (gateway: DatabaseGateway) =>
    gateway.read((em) =>
      gateway.query<{ name: string; statement: string }>(
        em,
        statement("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'rc!_%' ESCAPE '!'"),
      ),
    );

  it('off (the default): statements are sent unnamed and leave nothing prepared', async () => {
    const gateway = new DatabaseGateway(ds);
    const [row] = await gateway.read((em) =>
      gateway.query<{ n: number }>(em, statement('SELECT ?::int + 1 AS n', [1])),
    );
    expect(row.n).toBe(2);
    expect(await prepared(gateway)).toEqual([]);
  });

  it('on: each text is prepared once on the connection under a name of its own, with the same results', async () => {
    const gateway = new DatabaseGateway(ds, { preparedStatements: true });
    const add = (n: number) =>
      gateway.read((em) => gateway.query<{ n: number }>(em, statement('SELECT ?::int + 1 AS n', [n])));
    expect((await add(1))[0].n).toBe(2);
    expect((await add(41))[0].n).toBe(42);
    const rows = await gateway.transaction((em) =>
      gateway.writeAll<{ v: number }>(em, [statement('SELECT ?::int AS v', [7])]),
    );
    expect(rows).toEqual([{ v: 7 }]);
    const names = await prepared(gateway);
    const texts = names.map((r) => r.statement).sort();
    expect(texts).toEqual(
      [
        'SELECT $1::int + 1 AS n',
        'SELECT $1::int AS v',
        "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'rc!_%' ESCAPE '!'",
      ].sort(),
    );
    expect(new Set(names.map((r) => r.name)).size).toBe(3);

    // A long text (the module's multi-row statements) runs unnamed: it is not kept on the connection.
    const long = `SELECT ?::int AS v /* ${'x'.repeat(5000)} */`;
    const [row] = await gateway.read((em) => gateway.query<{ v: number }>(em, statement(long, [9])));
    expect(row.v).toBe(9);
    expect((await prepared(gateway)).map((r) => r.statement)).not.toContain(long.replace('?', '$1'));
    expect(await prepared(gateway)).toHaveLength(3);
  });

  it('on: a value the database refuses is still a StorageDataError (400), and the next statement runs', async () => {
    const gateway = new DatabaseGateway(ds, { preparedStatements: true });
    await expect(
      gateway.transaction((em) => gateway.query(em, statement('SELECT 1 / ?::int AS n', [0]))),
    ).rejects.toBeInstanceOf(StorageDataError);
    const [row] = await gateway.read((em) =>
      gateway.query<{ n: number }>(em, statement('SELECT 1 / ?::int AS n', [1])),
    );
    expect(row.n).toBe(1);
  });
});
