import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { SqliteGroupCommit } from './sqlite-group-commit';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('SqliteGroupCommit and the WAL flush', () => {
  let dir: string;
  let file: string;
  let dataSource: DataSource;
  const flushes: Array<{ path: string; finish(error?: Error): void }> = [];
  const syncFile = (path: string) =>
    new Promise<void>((resolve, reject) => {
      flushes.push({ path, finish: (error) => (error ? reject(error) : resolve()) });
    });

  /** A DataSource in WAL mode; `synchronous` unset leaves it to better-sqlite3 (NORMAL after a transaction). */
  const open = async (synchronous?: 'NORMAL' | 'FULL') => {
    dataSource = await new DataSource({
      type: 'better-sqlite3',
      database: file,
      enableWAL: true,
      prepareDatabase: (db: Database.Database) => {
        if (synchronous) db.pragma(`synchronous = ${synchronous}`);
      },
    }).initialize();
    await dataSource.query('CREATE TABLE t (id integer PRIMARY KEY, v text NOT NULL)');
    return new SqliteGroupCommit(dataSource, syncFile);
  };
  const insert = (v: string) => async (em: EntityManager) => {
    await em.query('INSERT INTO t (v) VALUES (?)', [v]);
    return v;
  };
  /** Rows as another connection sees them: committed ones only. */
  const committed = () => {
    const other = new Database(file, { readonly: true });
    try {
      return (other.prepare('SELECT v FROM t ORDER BY id').all() as Array<{ v: string }>).map((r) => r.v);
    } finally {
      other.close();
    }
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rc-gc-'));
    file = join(dir, 'db.sqlite');
    flushes.length = 0;
  });
  afterEach(async () => {
    await dataSource?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with synchronous NORMAL answers after the WAL flush, while the next transaction already commits', async () => {
    const commits = await open('NORMAL');
    let answered = 0;
    const first = Promise.all([commits.run(insert('a')), commits.run(insert('b'))]).then((r) => {
      answered++;
      return r;
    });
    while (flushes.length === 0) await turn();
    expect(flushes[0].path).toBe(`${file}-wal`);
    expect(committed()).toEqual(['a', 'b']);
    expect(answered).toBe(0);

    // The event loop and the writer go on during the flush: a later work commits before it ends.
    const second = commits.run(insert('c'));
    while (!committed().includes('c')) await turn();
    expect(answered).toBe(0);
    flushes[0].finish();
    expect(await first).toEqual(['a', 'b']);
    // 'c' committed after the first flush began, so it waits for a flush of its own.
    while (flushes.length < 2) await turn();
    flushes[1].finish();
    expect(await second).toBe('c');
  });

  it('a failed flush fails the works it would have made durable, and every later one', async () => {
    const commits = await open('NORMAL');
    const work = commits.run(insert('x'));
    while (flushes.length === 0) await turn();
    flushes[0].finish(new Error('EIO: i/o error, fsync'));
    await expect(work).rejects.toThrow('EIO');
    // Committed, but maybe not on disk, and no later flush can tell: every later work fails too.
    expect(committed()).toEqual(['x']);
    await expect(commits.run(insert('y'))).rejects.toThrow('EIO');
    expect(flushes).toHaveLength(1);
  });

  it('with synchronous left to better-sqlite3 (NORMAL once a transaction ran) flushes too', async () => {
    const commits = await open();
    const work = commits.run(insert('a'));
    while (flushes.length === 0) await turn();
    expect(committed()).toEqual(['a']);
    flushes[0].finish();
    expect(await work).toBe('a');
  });

  it('follows the DataSource to its new connection after it was destroyed and initialized again', async () => {
    const commits = await open('FULL');
    expect(await commits.run(insert('before'))).toBe('before');
    await dataSource.destroy();
    await expect(commits.run(insert('gone'))).rejects.toThrow();
    await dataSource.initialize();
    expect(await commits.run(insert('after'))).toBe('after');
    expect(committed()).toEqual(['before', 'after']);
  });

  it('with synchronous FULL leaves the flush to SQLite and answers at commit', async () => {
    const commits = await open('FULL');
    expect(await Promise.all([commits.run(insert('a')), commits.run(insert('b'))])).toEqual(['a', 'b']);
    expect(flushes).toEqual([]);
  });
});
