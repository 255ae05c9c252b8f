import type { DataSource } from 'typeorm';
import type { Work } from './connections';
import { WalSync } from './wal-sync';
import type { SqliteConnection, SyncFile } from './wal-sync';

interface Queued {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Most works one SQLite transaction takes; bounds the time a batch holds the connection. */
const MAX_BATCH = 256;
/** Most event-loop turns a batch waits for more works to join (see `gather`). */
const MAX_GATHER_TURNS = 4;

/**
 * SQLite write transactions with group commit. TypeORM shares one connection between all transactions
 * on SQLite, so concurrent `transaction()` calls would interleave on it. Works are therefore queued, and
 * the works that queued up while one transaction ran share the next transaction: each caller still
 * resumes only after the commit that made its work durable. If a shared transaction fails, its works
 * run again one by one, so one bad work never fails the others.
 *
 * With `synchronous = NORMAL` in WAL mode, callers are answered only after the WAL was flushed to disk
 * off the event loop (see {@link WalSync}), while the next transaction already runs.
 *
 * @example
 * const commits = new SqliteGroupCommit(dataSource); await commits.run((em) => em.query('…'));
 */
export class SqliteGroupCommit {
  private readonly queue: Queued[] = [];
  private draining = false;
  /** Created at the first commit (the connection opens with the DataSource), again for a new connection. */
  private wal?: WalSync;

  /** @param syncFile how the WAL is flushed (tests pass their own). */
  constructor(
    private readonly dataSource: DataSource,
    private readonly syncFile?: SyncFile,
  ) {}

  /** Runs `work` in the next shared transaction; resolves after its commit. */
  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length) {
        await this.gather();
        const batch = this.queue.splice(0, MAX_BATCH);
        if (batch.length === 1) {
          await this.runAlone(batch[0]);
          continue;
        }
        const results: unknown[] = [];
        let workFailed = false;
        try {
          await this.sqliteTransaction(async (em) => {
            for (const item of batch) {
              try {
                results.push(await item.work(em));
              } catch (error) {
                workFailed = true;
                throw error;
              }
            }
          });
          this.settle(batch, results);
        } catch (error) {
          if (workFailed) {
            // One work failed and took the others down with it: give each its own transaction and outcome.
            for (const item of batch) await this.runAlone(item);
          } else {
            // BEGIN or COMMIT failed (the file is locked or unwritable): retrying each work would only
            // wait the busy timeout again and again, so the whole batch fails at once.
            for (const item of batch) item.reject(error);
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Lets the event loop read pending requests before a batch starts: better-sqlite3 runs a whole
   * transaction within one microtask checkpoint, so without a pause no other work could ever join it.
   * It keeps yielding while the last turn still added works (requests whose bytes arrived while the
   * previous ones were parsed), for at most {@link MAX_GATHER_TURNS} turns: otherwise those just miss
   * the batch and wait for the next one, which doubled their latency under load. A lone work costs
   * one turn, as before.
   */
  private async gather(): Promise<void> {
    let before = -1;
    for (
      let turn = 0;
      turn < MAX_GATHER_TURNS && this.queue.length !== before && this.queue.length < MAX_BATCH;
      turn++
    ) {
      before = this.queue.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * `BEGIN IMMEDIATE` takes SQLite's write lock up front (waiting up to the busy timeout). TypeORM's
   * deferred `BEGIN` would take it at the first write, and a read-then-write transaction then fails at
   * once with SQLITE_BUSY_SNAPSHOT when another process committed in between.
   */
  private async sqliteTransaction<T>(work: Work<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.query('BEGIN IMMEDIATE');
    try {
      const result = await work(runner.manager);
      await runner.query('COMMIT');
      return result;
    } catch (error) {
      await runner.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private async runAlone(item: Queued): Promise<void> {
    let result: unknown;
    try {
      result = await this.sqliteTransaction(item.work);
    } catch (error) {
      item.reject(error);
      return;
    }
    this.settle([item], [result]);
  }

  /** Answers committed works, once their commit is on disk where SQLite left that to us. */
  private settle(batch: Queued[], results: unknown[]): void {
    const rejectAll = (error: unknown) => batch.forEach((item) => item.reject(error));
    let flushed: Promise<void> | undefined;
    try {
      // A DataSource destroyed and initialized again has a new connection: follow it.
      const connection = this.connection();
      if (this.wal?.db !== connection) this.wal = new WalSync(connection, this.syncFile);
      flushed = this.wal.afterCommit();
    } catch (error) {
      // Stored, but whether it is on disk cannot be told: 503, and the resend is answered as a duplicate.
      return rejectAll(error);
    }
    const resolveAll = () => batch.forEach((item, i) => item.resolve(results[i]));
    if (!flushed) return resolveAll();
    flushed.then(resolveAll, rejectAll);
  }

  private connection(): SqliteConnection {
    return (this.dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
  }
}
