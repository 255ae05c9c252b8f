import { open } from 'node:fs/promises';

/** Flushes one file to disk; resolves when done. */
export type SyncFile = (path: string) => Promise<void>;

/** The part of a better-sqlite3 `Database` that {@link WalSync} reads. */
export interface SqliteConnection {
  readonly memory: boolean;
  readonly open: boolean;
  pragma(source: string, options?: { simple: true }): unknown;
}

/**
 * `fsync` of a file by path, on libuv's thread pool. Opened for writing (Windows flushes only such
 * handles) but never created; opening by path each time always reaches the current file.
 */
export const fsyncPath: SyncFile = async (path) => {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * Makes SQLite commits durable when SQLite leaves that undone, without blocking the event loop. With
 * `journal_mode = WAL` and `synchronous = NORMAL`, a COMMIT writes its frames to the WAL file but does not
 * flush it (SQLite flushes the WAL only at checkpoints), so a power loss could undo it. better-sqlite3
 * runs every WAL connection that way unless the app set `synchronous` itself: SQLite resets an unset
 * `synchronous` to its WAL default (NORMAL in better-sqlite3's build) whenever a transaction starts. So the
 * mode is read after each commit, and under NORMAL the WAL file is flushed on the thread pool before the
 * commit's callers are answered, while the event loop goes on.
 *
 * Flushes coalesce: commits made while one flush runs share the single next flush, which starts when the
 * running one ends. A failed flush fails every later commit too, until the connection is reopened: after a
 * failed `fsync` Linux may drop the unwritten pages, and a later `fsync` succeeds without them (PostgreSQL
 * stops for the same reason).
 *
 * @example
 * const wal = new WalSync(db);
 * commit(); await wal.afterCommit(); // undefined: SQLite already flushed (FULL), or nothing to flush
 */
export class WalSync {
  private running?: Promise<void>;
  private next?: Promise<void>;
  private failure?: { error: unknown };
  private path?: string;

  constructor(
    /** The connection whose commits it flushes (a new one after the DataSource was reopened). */
    readonly db: SqliteConnection,
    private readonly syncFile: SyncFile = fsyncPath,
  ) {}

  /**
   * After a commit: a promise that settles once it is on disk, or undefined when SQLite already flushed it
   * (`FULL` or `EXTRA`), there is nothing to flush (in-memory), or the app asked for no flushing (`OFF`).
   */
  afterCommit(): Promise<void> | undefined {
    if (this.db.memory) return undefined;
    // synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    if (Number(this.db.pragma('synchronous', { simple: true })) !== 1) return undefined;
    if (String(this.db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return undefined;
    return this.flushed();
  }

  /** The WAL file, as SQLite itself resolved the database's path (symbolic links, working directory). */
  walPath(): string {
    if (!this.path) {
      const list = this.db.pragma('database_list') as Array<{ name: string; file: string }>;
      const main = list.find((d) => d.name === 'main');
      if (!main?.file) throw new Error('the SQLite connection has no database file to flush');
      this.path = `${main.file}-wal`;
    }
    return this.path;
  }

  /** Resolves once every commit made before the call is on disk; rejects if a flush failed. */
  private flushed(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (!this.running) {
      const running = this.flush().finally(() => {
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
        return this.flushed();
      });
    return this.next;
  }

  private async flush(): Promise<void> {
    try {
      await this.syncFile(this.walPath());
    } catch (error) {
      // Closing the last connection checkpoints the WAL into the database file, flushes it and deletes
      // the WAL: nothing is left to flush then. A WAL missing while the connection is open is a failure.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !this.db.open) return;
      this.failure ??= { error };
      throw error;
    }
  }
}
