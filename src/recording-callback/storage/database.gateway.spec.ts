import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { DatabaseGateway } from './database.gateway';
import { statement } from './statement';

/** Counts the statements TypeORM runs. */
class StatementLog implements TypeOrmLogger {
  readonly statements: string[] = [];
  logQuery(query: string): void {
    this.statements.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

describe('DatabaseGateway on SQLite (group commit)', () => {
  let dir: string;
  let file: string;
  let dataSource: DataSource;
  let log: StatementLog;
  let writes: DatabaseGateway;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rc-wt-'));
    file = join(dir, 'db.sqlite');
    log = new StatementLog();
    dataSource = await new DataSource({
      type: 'better-sqlite3',
      database: file,
      enableWAL: true,
      timeout: 50,
      logging: ['query'],
      logger: log,
    }).initialize();
    await dataSource.query('CREATE TABLE t (id integer PRIMARY KEY, v text NOT NULL)');
    writes = new DatabaseGateway(dataSource);
  });
  afterEach(async () => {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (v: string | null) => (em: Parameters<Parameters<DatabaseGateway['transaction']>[0]>[0]) =>
    writes.query(em, statement('INSERT INTO t (v) VALUES (?) RETURNING id', [v]));

  it('runs the works queued in one event-loop turn in one transaction, each resolved after commit', async () => {
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((v) => writes.transaction(insert(v))));
    expect(results.map((r) => r.length)).toEqual([1, 1, 1, 1]);
    expect(log.statements.filter((s) => s === 'BEGIN IMMEDIATE')).toHaveLength(1);
    expect(log.statements.filter((s) => s === 'COMMIT')).toHaveLength(1);
    expect(await dataSource.query('SELECT v FROM t ORDER BY id')).toEqual(['a', 'b', 'c', 'd'].map((v) => ({ v })));
  });

  it('lets works that arrive in the next event-loop turns join the batch, so they do not wait for another', async () => {
    // Works queued one event-loop turn after another, as requests are when their bytes arrive while the
    // previous ones are parsed: 'b' one turn after 'a', 'c' two turns after.
    const later = (v: string, turns: number): Promise<unknown> =>
      turns === 0
        ? writes.transaction(insert(v))
        : new Promise((resolve) => setImmediate(() => resolve(later(v, turns - 1))));
    const arrivals = [later('b', 1), later('c', 2)];
    await Promise.all([later('a', 0), ...arrivals]);
    expect(log.statements.filter((s) => s === 'COMMIT')).toHaveLength(1);

    // A lone work is not held back: it commits after one turn without waiting for company.
    log.statements.length = 0;
    await writes.transaction(insert('alone'));
    expect(log.statements.filter((s) => s === 'COMMIT')).toHaveLength(1);
    expect(await dataSource.query('SELECT v FROM t ORDER BY id')).toEqual(['a', 'b', 'c', 'alone'].map((v) => ({ v })));
  });

  it('when one work of a batch fails, runs the others again alone: they commit, it alone is rejected', async () => {
    const outcomes = await Promise.allSettled(['a', 'b', null, 'd'].map((v) => writes.transaction(insert(v))));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await dataSource.query('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'a' }, { v: 'b' }, { v: 'd' }]);
  });

  it('when the transaction cannot begin (the file is locked), fails the whole batch at once without retrying each', async () => {
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const outcomes = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((v) => writes.transaction(insert(v))));
      expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
      // One attempt for the batch: not one more per work.
      expect(log.statements.filter((s) => s === 'BEGIN IMMEDIATE')).toHaveLength(1);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await writes.transaction(insert('after'));
    expect(await dataSource.query('SELECT v FROM t')).toEqual([{ v: 'after' }]);
  });

  it('writeAll runs independent statements in order in the transaction and returns the rows of the last', async () => {
    const rows = await writes.transaction((em) =>
      writes.writeAll<{ id: number; v: string }>(em, [
        statement('INSERT INTO t (v) VALUES (?)', ['first']),
        statement('INSERT INTO t (v) VALUES (?), (?) RETURNING id, v', ['second', 'third']),
      ]),
    );
    expect(rows.map((r) => r.v).sort()).toEqual(['second', 'third']);
    expect(await dataSource.query('SELECT v FROM t ORDER BY id')).toEqual(
      ['first', 'second', 'third'].map((v) => ({ v })),
    );
    expect(await writes.transaction((em) => writes.writeAll(em, []))).toEqual([]);
  });

  it('writeWithReads runs only the write on SQLite, and never builds the reads', async () => {
    await dataSource.query("INSERT INTO t (v) VALUES ('old')");
    let built = 0;
    const result = await writes.transaction((em) =>
      writes.writeWithReads<{ id: number; v: string }>(
        em,
        statement('INSERT INTO t (v) VALUES (?) RETURNING id, v', ['new']),
        () => {
          built++;
          return [statement('SELECT v FROM t')];
        },
      ),
    );
    expect(result.rows.map((r) => r.v)).toEqual(['new']);
    expect(result.reads).toBeNull();
    expect(built).toBe(0);
    expect(log.statements.filter((s) => s.startsWith('SELECT'))).toEqual([]);
  });
});
