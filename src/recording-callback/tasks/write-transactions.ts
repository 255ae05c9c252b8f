import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * Runs write transactions. On SQLite, TypeORM shares one connection between all transactions, so two
 * concurrent `transaction()` calls would interleave on it; this queues them one after another. On
 * PostgreSQL each transaction has its own pooled connection and they run concurrently (row locks keep
 * them correct). Work passed in must await only the database, never other I/O.
 *
 * @example
 * await writes.run((em) => em.insert(RecordingTaskEntity, row));
 */
@Injectable()
export class WriteTransactions {
  /** True when the database allows concurrent writers with row locks. */
  readonly concurrent: boolean;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.concurrent = dataSource.options.type === 'postgres';
  }

  /**
   * Runs one parameterised statement inside `em`'s transaction and returns its rows (also for
   * `UPDATE … RETURNING`). Write `?` placeholders; they become `$1…` on PostgreSQL.
   *
   * @example
   * const rows = await writes.rows(em, 'SELECT id FROM t WHERE a = ? AND b = ?', [a, b]);
   */
  async rows<R = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[]): Promise<R[]> {
    let n = 0;
    const text = this.concurrent ? sql.replace(/\?/g, () => `$${++n}`) : sql;
    const result = await em.queryRunner!.query(text, params, true);
    return (result.records ?? []) as R[];
  }

  run<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    if (this.concurrent) return this.dataSource.transaction(work);
    const result = this.tail.then(() => this.dataSource.transaction(work));
    this.tail = result.catch(() => undefined);
    return result;
  }
}
