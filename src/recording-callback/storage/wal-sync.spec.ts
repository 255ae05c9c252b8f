import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalSync, fsyncPath } from './wal-sync';

/** A flush the test finishes by hand, recording each one started. */
function manualSync() {
  const started: Array<{ path: string; finish(error?: Error): void }> = [];
  const syncFile = (path: string) =>
    new Promise<void>((resolve, reject) => {
      started.push({ path, finish: (error) => (error ? reject(error) : resolve()) });
    });
  return { started, syncFile };
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
  it('answers a commit only when the flush it started finished', async () => {
    const { started, syncFile } = manualSync();
    const sync = new WalSync('/db/x.sqlite-wal', syncFile);
    const after = sync.afterCommit();
    expect(started.map((s) => s.path)).toEqual(['/db/x.sqlite-wal']);
    expect(await settled(after)).toBe(false);
    started[0].finish();
    await expect(after).resolves.toBeUndefined();
  });

  it('commits made during a flush share the one next flush, started when the running one ends', async () => {
    const { started, syncFile } = manualSync();
    const sync = new WalSync('/w', syncFile);
    const first = sync.afterCommit();
    const later = [sync.afterCommit(), sync.afterCommit(), sync.afterCommit()];
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

  it('a failed flush rejects the commits waiting on it; the next commit flushes again', async () => {
    const { started, syncFile } = manualSync();
    const sync = new WalSync('/w', syncFile);
    const failed = sync.afterCommit();
    const queued = sync.afterCommit();
    started[0].finish(new Error('EIO: i/o error, fsync'));
    await expect(failed).rejects.toThrow('EIO');
    await turn();
    started[1].finish();
    await expect(queued).resolves.toBeUndefined();
    const again = sync.afterCommit();
    expect(started).toHaveLength(3);
    started[2].finish();
    await expect(again).resolves.toBeUndefined();
  });

  describe('on real files', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rc-wal-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('fsyncPath flushes an existing file, and finds nothing to flush when the WAL is gone', async () => {
      const file = join(dir, 'f');
      writeFileSync(file, 'x');
      await expect(fsyncPath(file)).resolves.toBeUndefined();
      await expect(fsyncPath(join(dir, 'missing-wal'))).resolves.toBeUndefined();
      await expect(fsyncPath(dir + '/f/not-a-dir')).rejects.toThrow();
    });

    it.each([
      ['WAL', 'NORMAL', true],
      ['WAL', 'FULL', false],
      ['WAL', 'OFF', false],
      ['DELETE', 'NORMAL', false],
    ])('forConnection: journal %s, synchronous %s -> flushes itself: %s', (journal, synchronous, expected) => {
      const db = new Database(join(dir, 'db.sqlite'));
      try {
        db.pragma(`journal_mode = ${journal}`);
        db.pragma(`synchronous = ${synchronous}`);
        const sync = WalSync.forConnection(db);
        expect(sync !== undefined).toBe(expected);
        if (sync) expect(sync.walPath).toBe(join(dir, 'db.sqlite-wal'));
      } finally {
        db.close();
      }
    });

    it('forConnection: an in-memory database has nothing to flush', () => {
      const db = new Database(':memory:');
      try {
        db.pragma('synchronous = NORMAL');
        expect(WalSync.forConnection(db)).toBeUndefined();
      } finally {
        db.close();
      }
    });
  });
});
