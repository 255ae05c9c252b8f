import { HttpException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { classifyStorageError } from '../storage/storage.errors';

type Work<T> = (em: EntityManager) => Promise<T>;

interface Queued {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * PostgreSQL: runs work on one pooled connection of its own (in a transaction when asked). After a
 * failure the connection is destroyed rather than returned: a statement cut off by `query_timeout` may
 * still be running on it (or the network may be gone), and a reused connection would queue every later
 * request behind it, so the app would keep failing after the database came back. Closing it also rolls
 * the transaction back on the server.
 */
async function onOwnConnection<T>(dataSource: DataSource, work: Work<T>, transactional: boolean): Promise<T> {
  const runner = dataSource.createQueryRunner() as ReturnType<DataSource['createQueryRunner']> & {
    releasePostgresConnection(error?: Error): Promise<void>;
  };
  try {
    if (transactional) await runner.startTransaction();
    const result = await work(runner.manager);
    if (transactional) await runner.commitTransaction();
    await runner.release();
    return result;
  } catch (error) {
    await runner.releasePostgresConnection(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/**
 * Runs read-only work. On PostgreSQL it gets a pooled connection of its own, discarded if the work fails
 * (so a timed-out statement never poisons the pool); on SQLite it reads on the shared connection.
 *
 * @example
 * const n = await readOnOwnConnection(dataSource, (em) => em.getRepository(DeliveryEntity).count());
 */
export function readOnOwnConnection<T>(dataSource: DataSource, work: Work<T>): Promise<T> {
  return dataSource.options.type === 'postgres' ? onOwnConnection(dataSource, work, false) : work(dataSource.manager);
}

/** Most works one SQLite transaction takes; bounds the time a batch holds the connection. */
const MAX_BATCH = 256;
/** Most event-loop turns a batch waits for more works to join (see `gather`). */
const MAX_GATHER_TURNS = 4;

/**
 * Runs write transactions, and the raw parameterised statements inside them.
 *
 * On SQLite, TypeORM shares one connection between all transactions, so concurrent `transaction()`
 * calls would interleave on it. Works are therefore queued, and the works that queued up while one
 * transaction ran share the next transaction (group commit): each caller still resumes only after the
 * commit that made its work durable. If a shared transaction fails, its works run again one by one, so
 * one bad work never fails the others. On PostgreSQL each work gets its own pooled transaction and
 * they run concurrently (row locks keep them correct).
 *
 * A work must await only this database, never other I/O, and must be safe to run again after a rollback.
 *
 * @example
 * await writes.run((em) => writes.rows(em, 'UPDATE t SET a = ? WHERE id = ?', [a, id]));
 */
@Injectable()
export class WriteTransactions {
  /** True when the database allows concurrent writers with row locks (PostgreSQL). */
  readonly concurrent: boolean;
  private readonly queue: Queued[] = [];
  private draining = false;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.concurrent = dataSource.options.type === 'postgres';
  }

  run<T>(work: Work<T>): Promise<T> {
    if (this.concurrent) return onOwnConnection(this.dataSource, work, true);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  /**
   * Runs one statement on its own and returns its rows: on PostgreSQL in autocommit (one statement is
   * atomic, so BEGIN and COMMIT would only add two round trips), on SQLite in the next group commit.
   *
   * @example
   * await writes.single('UPDATE recording_deliveries SET lease_owner = NULL WHERE lease_owner = ?', [me]);
   */
  single<R = Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]> {
    const work: Work<R[]> = (em) => this.rows<R>(em, sql, params);
    return this.concurrent ? onOwnConnection(this.dataSource, work, false) : this.run(work);
  }

  /**
   * Runs read-only work outside any transaction; see {@link readOnOwnConnection}.
   *
   * @example
   * const task = await writes.read((em) => em.getRepository(RecordingTaskEntity).findOneBy({ taskId }));
   */
  read<T>(work: Work<T>): Promise<T> {
    return readOnOwnConnection(this.dataSource, work);
  }

  /**
   * For request handlers: runs `work` as a read (or, with `write`, a transaction), and turns a database
   * failure into a typed storage error (`StorageUnavailableError` or `StorageDataError`), which the
   * module's exception filter answers 503 or 400. HTTP errors thrown by the work pass unchanged.
   *
   * @example
   * return this.db.forRequest((em) => em.getRepository(RecordingTaskEntity).findOneBy({ taskId }));
   */
  async forRequest<T>(work: Work<T>, write = false): Promise<T> {
    try {
      return await (write ? this.run(work) : this.read(work));
    } catch (error) {
      if (error instanceof HttpException) throw error;
      throw classifyStorageError(error);
    }
  }

  /**
   * Runs one parameterised statement inside `em`'s transaction and returns its rows (also for
   * `INSERT/UPDATE … RETURNING`). Write `?` placeholders; they become `$1…` on PostgreSQL.
   *
   * @example
   * const rows = await writes.rows(em, 'SELECT id FROM t WHERE a = ? AND b = ?', [a, b]);
   */
  async rows<R = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[]): Promise<R[]> {
    let n = 0;
    const text = this.concurrent ? sql.replace(/\?/g, () => `$${++n}`) : sql;
    // SQLite reads use the DataSource's manager, which has no runner of its own: use the shared one.
    const runner = em.queryRunner ?? this.dataSource.createQueryRunner();
    const result = await runner.query(text, params, true);
    return (result.records ?? []) as R[];
  }

  /**
   * A date as a statement parameter for a datetime column: a `Date` for PostgreSQL, and for SQLite the
   * UTC text TypeORM itself writes (`YYYY-MM-DD HH:MM:SS.SSS`), so entity reads and sorting agree.
   *
   * @example
   * writes.rows(em, 'UPDATE recording_tasks SET updated_at = ? WHERE task_id = ?', [writes.time(now), id]);
   */
  time(date: Date | null): Date | string | null {
    if (date === null || this.concurrent) return date;
    return date.toISOString().replace('T', ' ').replace('Z', '');
  }

  /** Reads a datetime column value from a raw row (a `Date` from PostgreSQL, UTC text from SQLite). */
  readTime(value: unknown): Date | null {
    if (value === null || value === undefined) return null;
    if (value instanceof Date) return value;
    const text = String(value);
    return new Date(text.includes('T') ? text : `${text.replace(' ', 'T')}Z`);
  }

  /** Reads a JSON column value from a raw row (parsed by pg for jsonb, text on SQLite). */
  readJson<T>(value: unknown): T {
    return (typeof value === 'string' ? JSON.parse(value) : value) as T;
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
          batch.forEach((item, i) => item.resolve(results[i]));
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
    try {
      item.resolve(await this.sqliteTransaction(item.work));
    } catch (error) {
      item.reject(error);
    }
  }
}
