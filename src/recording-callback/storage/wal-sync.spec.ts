import Database from 'better-sqlite3';
import { mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalSync, fsyncPath } from './wal-sync';
import type { SqliteConnection } from './wal-sync';

/** A flush the test finishes by hand, recording each one started. */
function manualSync() {
  const started: Array<{ path: string; finish(error?: Error): void }> = [];
  const syncFile = (path: string) =>
    new Promise<void>((resolve, reject) => {
      started.push({ path, finish: (error) => (error ? reject(error) : resolve()) });
    });
  return { started, syncFile };
}

/** A connection in WAL mode with the given `synchronous`, on /db/x.sqlite. */
function connection(synchronous = 1, over: Partial<SqliteConnection> = {}): SqliteConnection {
  return {
    memory: false,
    open: true,
    pragma: (source: string) => {
      if (source === 'synchronous') return synchronous;
      if (source === 'journal_mode') return 'wal';
      if (source === 'database_list') return [{ seq: 0, name: 'main', file: '/db/x.sqlite' }];
      throw new Error(`unexpected pragma ${source}`);
    },
    ...over,
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Whether a promise has settled, without waiting for it. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await turn();
  return done;
}

describe('WalSync', () => {
  it('under NORMAL answers a commit only when the flush of the WAL it started finished', async () => {
    const { started, syncFile } = manualSync();
    const after = new WalSync(connection(), syncFile).afterCommit()!;
    expect(started.map((s) => s.path)).toEqual(['/db/x.sqlite-wal']);
    expect(await settled(after)).toBe(false);
    started[0].finish();
    await expect(after).resolves.toBeUndefined();
  });

  it.each([
    ['OFF', 0],
    ['FULL', 2],
    ['EXTRA', 3],
  ])('under %s flushes nothing (SQLite does, or was told not to)', (_name, level) => {
    const { started, syncFile } = manualSync();
    expect(new WalSync(connection(level), syncFile).afterCommit()).toBeUndefined();
    expect(started).toEqual([]);
  });

  it('flushes nothing for an in-memory database or a journal other than WAL', () => {
    const { started, syncFile } = manualSync();
    expect(new WalSync(connection(1, { memory: true }), syncFile).afterCommit()).toBeUndefined();
    const rollbackJournal = connection(1, { pragma: (s: string) => (s === 'journal_mode' ? 'delete' : 1) });
    expect(new WalSync(rollbackJournal, syncFile).afterCommit()).toBeUndefined();
    expect(started).toEqual([]);
  });

  it('reads the mode at each commit: SQLite may change it when a transaction starts', async () => {
    const { started, syncFile } = manualSync();
    let level = 2;
    const base = connection();
    const wal = new WalSync(
      { ...base, pragma: (s: string) => (s === 'synchronous' ? level : base.pragma(s)) },
      syncFile,
    );
    expect(wal.afterCommit()).toBeUndefined();
    level = 1;
    const after = wal.afterCommit()!;
    expect(started.map((f) => f.path)).toEqual(['/db/x.sqlite-wal']);
    started[0].finish();
    await after;
  });

  it('commits made during a flush share the one next flush, started when the running one ends', async () => {
    const { started, syncFile } = manualSync();
    const wal = new WalSync(connection(), syncFile);
    const first = wal.afterCommit()!;
    const later = [wal.afterCommit()!, wal.afterCommit()!, wal.afterCommit()!];
    expect(started).toHaveLength(1);
    started[0].finish();
    await first;
    await turn();
    // The running flush may have begun before these commits wrote their frames: they wait for another.
    expect(started).toHaveLength(2);
    expect(await settled(Promise.all(later))).toBe(false);
    started[1].finish();
    await Promise.all(later);
    expect(started).toHaveLength(2);
  });

  it('after a failed flush fails every later commit too, without flushing again', async () => {
    const { started, syncFile } = manualSync();
    const wal = new WalSync(connection(), syncFile);
    const failed = wal.afterCommit()!;
    const queued = wal.afterCommit()!;
    started[0].finish(new Error('EIO: i/o error, fsync'));
    await expect(failed).rejects.toThrow('EIO');
    await expect(queued).rejects.toThrow('EIO');
    await expect(wal.afterCommit()).rejects.toThrow('EIO');
    expect(started).toHaveLength(1);
  });

  it('a WAL gone after the connection closed is no failure; gone while it is open, it is', async () => {
    const missing = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    const syncFile = () => Promise.reject(missing);
    await expect(new WalSync(connection(1, { open: false }), syncFile).afterCommit()).resolves.toBeUndefined();
    await expect(new WalSync(connection(1, { open: true }), syncFile).afterCommit()).rejects.toBe(missing);
  });

  describe('on real files', () => {
    let dir: string;
    beforeEach(() => (dir = realpathSync(mkdtempSync(join(tmpdir(), 'rc-wal-')))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('fsyncPath flushes an existing file and never creates one', async () => {
      const file = join(dir, 'f');
      writeFileSync(file, 'x');
      await expect(fsyncPath(file)).resolves.toBeUndefined();
      await expect(fsyncPath(join(dir, 'missing-wal'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('finds the WAL file by the path SQLite resolved, also through a symbolic link', async () => {
      const real = join(dir, 'real.sqlite');
      new Database(real).close();
      symlinkSync(real, join(dir, 'link.sqlite'));
      const db = new Database(join(dir, 'link.sqlite'));
      try {
        db.pragma('journal_mode = WAL');
        db.exec('CREATE TABLE t (x)');
        const flushed: string[] = [];
        const wal = new WalSync(db, async (path) => {
          flushed.push(path);
          await fsyncPath(path);
        });
        await wal.afterCommit();
        expect(flushed).toEqual([`${real}-wal`]);
      } finally {
        db.close();
      }
    });

    it('better-sqlite3 runs NORMAL after the first transaction unless synchronous was set', () => {
      const plain = new Database(join(dir, 'plain.sqlite'));
      const pinned = new Database(join(dir, 'pinned.sqlite'));
      try {
        pinned.pragma('synchronous = FULL');
        for (const db of [plain, pinned]) {
          db.pragma('journal_mode = WAL');
          db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
        }
        expect(plain.pragma('synchronous', { simple: true })).toBe(1);
        expect(pinned.pragma('synchronous', { simple: true })).toBe(2);
        expect(new WalSync(pinned, () => Promise.reject(new Error('no flush expected'))).afterCommit()).toBeUndefined();
      } finally {
        plain.close();
        pinned.close();
      }
    });
  });
});
