import { open } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Flushes one file to disk; resolves when done. */
export type SyncFile = (path: string) => Promise<void>;

/** The part of a better-sqlite3 `Database` that {@link WalSync.forConnection} reads. */
export interface SqliteConnection {
  readonly name: string;
  readonly memory: boolean;
  pragma(source: string, options: { simple: true }): unknown;
}

/**
 * `fsync` of a file by path, on libuv's thread pool. A WAL that no longer exists was checkpointed into
 * the database file (and synced) and deleted when SQLite closed its last connection: nothing is left to
 * flush. Opening by path each time always reaches the current WAL file.
 */
export const fsyncPath: SyncFile = async (path) => {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * Makes SQLite commits durable without blocking the event loop. With `journal_mode = WAL` and
 * `synchronous = NORMAL`, a COMMIT writes its frames to the WAL file but does not flush it (SQLite
 * flushes the WAL only at checkpoints), so a power loss could undo it; with `FULL` the COMMIT itself
 * waits for the disk, on the event loop. Here the WAL file is flushed by path on the thread pool after
 * the commit, and callers are answered only when that flush finished: as durable as `FULL`, while the
 * event loop goes on (the next batch may already run).
 *
 * Flushes coalesce: commits made while one flush runs share the single next flush, which starts when
 * the running one ends, so there are never more than two at once.
 *
 * @example
 * const sync = WalSync.forConnection(db); // undefined unless WAL + NORMAL
 * commit(); await sync?.afterCommit();
 */
export class WalSync {
  private running?: Promise<void>;
  private next?: Promise<void>;

  constructor(
    /** Path of the `-wal` file. */
    readonly walPath: string,
    private readonly syncFile: SyncFile = fsyncPath,
  ) {}

  /**
   * A WalSync for a better-sqlite3 connection whose commits SQLite leaves unflushed (a file database in
   * WAL mode with `synchronous = NORMAL`); undefined otherwise: with `FULL` SQLite flushes at each commit
   * itself, an in-memory database has nothing to flush, and `OFF` asked for no flushing at all.
   */
  static forConnection(db: SqliteConnection, syncFile?: SyncFile): WalSync | undefined {
    if (db.memory) return undefined;
    const journal = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
    const synchronous = Number(db.pragma('synchronous', { simple: true }));
    // synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    if (journal !== 'wal' || synchronous !== 1) return undefined;
    return new WalSync(`${resolve(db.name)}-wal`, syncFile);
  }

  /** Resolves once every commit made before the call is on disk; rejects if the flush failed. */
  afterCommit(): Promise<void> {
    if (!this.running) {
      const running = this.syncFile(this.walPath).finally(() => {
        if (this.running === running) this.running = undefined;
      });
      this.running = running;
      return running;
    }
    // The running flush may have started before this commit wrote its frames: wait for the next one.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.afterCommit();
      });
    return this.next;
  }
}
