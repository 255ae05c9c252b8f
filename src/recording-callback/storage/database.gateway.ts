import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { onOwnConnection, poolSizeOf, readOnOwnConnection } from './connections';
import { runStatements } from './pg-client';
import { pgPipeline } from './pg-pipeline';
import type { Work } from './connections';
import { combineWithReads, dialectOf } from './sql-dialect';
import type { SqlDialect } from './sql-dialect';
import { SqliteGroupCommit } from './sqlite-group-commit';
import type { Statement } from './statement';
import { StatementNamer } from './prepared-statements';
import { STORAGE_SETTINGS } from './storage-settings';
import type { StorageSettings } from './storage-settings';
import { StorageUnavailableError, classifyStorageError } from './storage.errors';
import { typedStorageErrors as typed } from './typed-errors';
import { TransactionBatcher } from './transaction-batcher';
import type { BatchLimits, BatchWork } from './transaction-batcher';

/**
 * Submits items to a group commit of one kind of work (see {@link DatabaseGateway.batcher}); resolves
 * with the item's result after the commit, or rejects with a typed storage error.
 */
export type Batched<I, R> = (item: I) => Promise<R>;

/**
 * The module's one way into the database: transactions, reads and single statements, for every layer.
 * Statements come from the builders in `*.sql.ts` files, written with `?` placeholders; the gateway
 * runs them in the dialect of the app's DataSource (see {@link SqlDialect}).
 *
 * Failures reach callers as `StorageUnavailableError` (try again: the HTTP layer answers 503) or
 * `StorageDataError` (a value the database refused: 400); HTTP exceptions thrown by a work pass unchanged.
 *
 * On SQLite, write transactions are queued and share one transaction per event-loop turn (group
 * commit, see {@link SqliteGroupCommit}), since TypeORM shares one connection between them. On
 * PostgreSQL each gets its own pooled connection, discarded after a failure, and they run concurrently
 * (row locks keep them correct). A work must await only this database, never other I/O, and must be safe
 * to run again after a rollback.
 *
 * An app writing to the same SQLite DataSource runs its own transactions here too.
 *
 * @example
 * await db.transaction((em) => db.query(em, taskSql.selectTaskId(taskId)));
 */
@Injectable()
export class DatabaseGateway {
  /** Every difference between the databases, for builders' parameters and raw rows. */
  readonly dialect: SqlDialect;
  private readonly commits?: SqliteGroupCommit;
  /** Named prepared statements (PostgreSQL only, `StorageSettings.preparedStatements`). */
  private readonly namer?: StatementNamer;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() @Inject(STORAGE_SETTINGS) settings?: StorageSettings,
  ) {
    this.dialect = dialectOf(dataSource.options.type);
    if (!this.dialect.concurrent) this.commits = new SqliteGroupCommit(dataSource);
    if (this.dialect.name === 'postgres' && settings?.preparedStatements === true) this.namer = new StatementNamer();
  }

  /** Connections of the PostgreSQL pool (see {@link poolSizeOf}); undefined on SQLite. */
  get poolSize(): number | undefined {
    return poolSizeOf(this.dataSource);
  }

  /**
   * Runs `work` in a write transaction and resolves after its commit.
   *
   * @example
   * await db.transaction((em) => em.getRepository(MyEntity).save(row));
   */
  transaction<T>(work: Work<T>): Promise<T> {
    return typed(this.commits ? this.commits.run(work) : onOwnConnection(this.dataSource, work, true));
  }

  /**
   * Group commit for one kind of work: items submitted within the same event-loop turns are stored by
   * one call of `work` in one transaction, answered after its commit (see {@link TransactionBatcher}).
   * On PostgreSQL up to `limits.concurrency` batches run at once, each on a pooled connection of its
   * own; `work` must then lock rows in one order (e.g. sorted keys) so that concurrent batches, of this
   * instance or another, never deadlock. On SQLite each item is one work of the shared group commit
   * (which already shares the transaction), run as a batch of one.
   * With `oneStatement`, `work` runs exactly one statement, and on PostgreSQL runs in autocommit. With
   * `pipelined`, on PostgreSQL, BEGIN goes with the first statement and COMMIT may go with the last
   * ({@link commitWith}): `work` must then run its statements through this gateway, never on `em`.
   *
   * @example
   * const store = db.batcher((em, items) => storeAll(em, items), { maxSize: 128, maxWaitMs: 2, concurrency: 4 });
   * const result = await store(item);
   */
  batcher<I, R>(
    work: BatchWork<I, R>,
    limits: BatchLimits,
    how: { oneStatement?: boolean; pipelined?: boolean } = {},
  ): Batched<I, R> {
    const commits = this.commits;
    if (commits) {
      // SQLite: the shared group commit already puts the callbacks of a turn in one transaction, and a
      // statement costs no round trip. Each item runs as its own work there, with one-row statements whose
      // texts stay prepared; measured, multi-row statements of varying texts cost more per row.
      return (item) => typed(commits.run(async (em) => (await work(em, [item]))[0]));
    }
    // A work of one statement is atomic on its own: on PostgreSQL it runs in autocommit, without the two
    // round trips of BEGIN and COMMIT. A pipelined work sends them with its statements, unless the app set
    // an isolation level, which TypeORM's own BEGIN applies.
    const pipelined = how.pipelined && !(this.dataSource.options as { isolationLevel?: string }).isolationLevel;
    const mode = how.oneStatement ? false : pipelined ? 'pipelined' : true;
    const run = <T>(w: Work<T>) => onOwnConnection(this.dataSource, w, mode);
    // A value the database refused is one item's fault: run the items again alone. A lost connection, a
    // timeout or a lock conflict would fail again for each of them: fail the batch at once (503, resent).
    const retryAlone = (error: unknown) => !(classifyStorageError(error) instanceof StorageUnavailableError);
    const batcher = new TransactionBatcher(run, work, limits, retryAlone);
    return (item) => typed(batcher.submit(item));
  }

  /**
   * Runs read-only work outside any transaction: on PostgreSQL on a pooled connection of its own
   * (discarded if the work fails, so a timed-out statement never poisons the pool), on SQLite on the
   * shared connection.
   *
   * @example
   * const task = await db.read((em) => em.getRepository(RecordingTaskEntity).findOneBy({ taskId }));
   */
  read<T>(work: Work<T>): Promise<T> {
    return typed(readOnOwnConnection(this.dataSource, work));
  }

  /**
   * Runs one statement on its own and returns its rows: on PostgreSQL in autocommit (one statement is
   * atomic, so BEGIN and COMMIT would only add two round trips), on SQLite in the next group commit.
   *
   * @example
   * await db.execute(deliverySql.releaseAll(instanceId));
   */
  execute<R = Record<string, unknown>>(s: Statement): Promise<R[]> {
    const work: Work<R[]> = (em) => this.query<R>(em, s);
    return typed(this.commits ? this.commits.run(work) : onOwnConnection(this.dataSource, work, false));
  }

  /**
   * Runs one statement inside `em`'s transaction (or read) and returns its rows, also for
   * `INSERT/UPDATE … RETURNING`. Errors are the driver's; the enclosing call types them.
   *
   * @example
   * const [row] = await db.query<{ id: number }>(em, storedCallbackSql.idByDedupeKey(key));
   */
  query<R = Record<string, unknown>>(em: EntityManager, s: Statement): Promise<R[]> {
    return this.run<R>(em, s, false);
  }

  /**
   * Runs statements in order inside `em`'s transaction, each seeing what the ones before it wrote, and
   * returns the rows of each. In a group-commit batch on PostgreSQL they travel in one round trip (each
   * still on its own snapshot, as with one round trip each); elsewhere they run one after another.
   *
   * @example
   * const [locked, inserted] = await db.queryInOrder(em, [taskBatchSql.createOrLockMany(…), insert]);
   */
  queryInOrder(em: EntityManager, statements: readonly Statement[]): Promise<Record<string, unknown>[][]> {
    return this.runAll(em, statements, false);
  }

  /** {@link query}, committing with the statement when `commit` and the transaction is pipelined. */
  private async run<R>(em: EntityManager, s: Statement, commit: boolean): Promise<R[]> {
    return (await this.runAll(em, [s], commit))[0] as R[];
  }

  /** {@link queryInOrder}, committing with the last statement when `commit` (see {@link run}). */
  private runAll(em: EntityManager, list: readonly Statement[], commit: boolean) {
    // SQLite reads use the DataSource's manager, which has no runner of its own: use the shared one.
    const runner = em.queryRunner ?? this.dataSource.createQueryRunner();
    const texts = list.map((s) => ({ text: this.dialect.text(s.sql), values: s.params as unknown[] }));
    return runStatements(runner, this.dataSource.logger, texts, { namer: this.namer, commit });
  }

  /**
   * The last writes of a transaction, as {@link writeAll} runs them. In a group-commit batch on
   * PostgreSQL, the COMMIT goes in the same round trip, so nothing may run in the transaction after
   * them; elsewhere the transaction commits as usual once its work returns.
   *
   * @example
   * const rows = await db.commitWith(em, [taskSql.update(…), deliverySql.insert(…)]);
   */
  async commitWith<R = Record<string, unknown>>(em: EntityManager, statements: readonly Statement[]): Promise<R[]> {
    const one = statements.length ? this.dialect.combineWrites(statements) : null;
    if (one && em.queryRunner && pgPipeline.has(em.queryRunner)) return this.run<R>(em, one, true);
    return this.writeAll<R>(em, statements);
  }

  /**
   * Runs independent write statements inside `em`'s transaction and returns the rows of the last one:
   * on PostgreSQL as one statement (one round trip instead of one each), on SQLite one after another.
   * None may read what another writes (on PostgreSQL they all run on one snapshot), and no row may be
   * written by two of them.
   *
   * @example
   * const ids = await db.writeAll<{ id: number }>(em, [taskSql.update(…), fileSql.upsert(…), deliverySql.insert(…)]);
   */
  async writeAll<R = Record<string, unknown>>(em: EntityManager, statements: readonly Statement[]): Promise<R[]> {
    if (!statements.length) return [];
    const one = this.dialect.combineWrites(statements);
    if (one) return this.query<R>(em, one);
    let rows: R[] = [];
    for (const s of statements) rows = await this.query<R>(em, s);
    return rows;
  }

  /**
   * Runs a write inside `em`'s transaction and, where that saves round trips, reads with it, as one
   * statement on one snapshot (see {@link combineWithReads}: on SQLite only the write runs, and `reads`
   * comes back null).
   *
   * @example
   * const { rows, reads } = await db.writeWithReads(em, insert, () => [fileSql.select(keys)]);
   */
  async writeWithReads<R = Record<string, unknown>>(
    em: EntityManager,
    write: Statement,
    reads: () => readonly Statement[],
  ): Promise<{ rows: R[]; reads: Record<string, unknown>[][] | null }> {
    const combined = combineWithReads<R>(this.dialect, write, reads);
    return combined.read(await this.query(em, combined.statement));
  }

  /**
   * Locks the rows `select` finds until `em`'s transaction ends, where the database needs it (a no-op on
   * SQLite, whose single writer already orders write transactions).
   *
   * @example
   * await db.lock(em, taskSql.selectTaskId(taskId));
   */
  async lock(em: EntityManager, select: Statement): Promise<void> {
    const locking = this.dialect.lockRows(select);
    if (locking) await this.query(em, locking);
  }

  /**
   * Takes a transaction-scoped advisory lock if no one holds it; true when taken (always on SQLite).
   *
   * @example
   * if (!(await db.tryAdvisoryLock(em, WATCHDOG_LOCK))) return [];
   */
  async tryAdvisoryLock(em: EntityManager, key: number): Promise<boolean> {
    const attempt = this.dialect.tryAdvisoryLock(key);
    if (!attempt) return true;
    const [row] = await this.query<{ ok: boolean }>(em, attempt);
    return row?.ok === true;
  }
}
