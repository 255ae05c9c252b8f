import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../ormconfig';

/**
 * better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1: unless the app sets `synchronous`, SQLite
 * sets it to NORMAL whenever a transaction starts on a WAL file, and a COMMIT then does not reach the disk.
 * The host app's options pin FULL; without them the connection runs NORMAL from its first transaction on
 * (and the module's group commit then flushes the WAL itself: wal-sync.spec.ts, sqlite-group-commit.spec.ts).
 */
describe('SQLite durability setting of the host app', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rc-sync-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * PRAGMA synchronous and journal_mode after a write, of a DataSource opened twice on one file (first and
   * second start).
   */
  const twoStarts = async (options: ConstructorParameters<typeof DataSource>[0]) => {
    const seen: Array<{ synchronous: number; journal: string }> = [];
    for (let start = 0; start < 2; start++) {
      const ds = await new DataSource(options).initialize();
      try {
        await ds.query('CREATE TABLE IF NOT EXISTS probe (x)');
        await ds.transaction((em) => em.query('INSERT INTO probe VALUES (1)'));
        const [{ synchronous }] = await ds.query('PRAGMA synchronous');
        const [{ journal_mode: journal }] = await ds.query('PRAGMA journal_mode');
        seen.push({ synchronous, journal });
      } finally {
        await ds.destroy();
      }
    }
    return seen;
  };

  it('runs WAL with synchronous FULL after writes, on the first start and on every start after it', async () => {
    const seen = await twoStarts(databaseOptions({ sqlitePath: join(dir, 'host.sqlite') }));
    expect(seen).toEqual([
      { synchronous: 2, journal: 'wal' },
      { synchronous: 2, journal: 'wal' },
    ]);
  });

  it('without it, better-sqlite3 runs NORMAL once a transaction ran, on every start', async () => {
    const seen = await twoStarts({ type: 'better-sqlite3', database: join(dir, 'plain.sqlite'), enableWAL: true });
    expect(seen).toEqual([
      { synchronous: 1, journal: 'wal' },
      { synchronous: 1, journal: 'wal' },
    ]);
  });
});
