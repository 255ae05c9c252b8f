import { statement } from './statement';
import type { Statement } from './statement';

/** The databases the module runs on. */
export type DialectName = 'postgres' | 'sqlite';

/**
 * Every difference between the two databases that statements or their results see, in one place:
 * placeholders, how datetimes and JSON travel, whether rows can be locked, advisory locks. Statement
 * builders write one portable text; nothing outside `storage/` asks which database it is.
 *
 * @example
 * const at = dialect.time(new Date()); // a parameter for a datetime column
 */
export interface SqlDialect {
  readonly name: DialectName;
  /** True when writers run concurrently and row locks order them (PostgreSQL); SQLite has one writer. */
  readonly concurrent: boolean;
  /** The statement text with `?` turned into the driver's placeholders. */
  text(sql: string): string;
  /** A date as a parameter for a datetime column. */
  time(date: Date | null): Date | string | null;
  /** A datetime column value of a raw row. */
  readTime(value: unknown): Date | null;
  /** A JSON column value of a raw row. */
  readJson<T>(value: unknown): T;
  /**
   * A SELECT that also locks the rows it finds until the transaction ends, or null where a lock is not
   * needed (SQLite's single writer already keeps write transactions apart).
   */
  lockRows(select: Statement): Statement | null;
  /** A transaction-scoped advisory lock attempt returning `ok`, or null where there are none (SQLite). */
  tryAdvisoryLock(key: number): Statement | null;
  /**
   * Independent write statements as one statement returning the last one's rows, or null where the
   * database cannot (SQLite: no writes inside WITH). They must not read what another of them writes.
   */
  combineWrites(statements: readonly Statement[]): Statement | null;
  /**
   * A write and reads as one statement returning one row: column `r0` holds the write's rows, `r1`… each
   * read's rows, as JSON arrays. Null where the database cannot (SQLite), or where it would not pay. All of
   * it runs on one snapshot, so the reads see the database as it was before the write.
   */
  combineWithReads(write: Statement, reads: readonly Statement[]): Statement | null;
}

function readJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** Most bind parameters one PostgreSQL statement may carry. */
const MAX_PG_PARAMETERS = 65_535;

/** `$1`, `$2`, …, each built once: a batch's statements carry hundreds of placeholders. */
const pgPlaceholders: string[] = [];

/**
 * `?` turned into `$1`, `$2`, … in order. A scan with indexOf instead of a replace callback: measured on
 * batch texts of 230–480 placeholders, 10 against 23 µs a text.
 */
function numberPlaceholders(sql: string): string {
  let out = '';
  let from = 0;
  let n = 0;
  for (let at = sql.indexOf('?'); at >= 0; at = sql.indexOf('?', from)) {
    n++;
    out += sql.slice(from, at) + (pgPlaceholders[n] ??= `$${n}`);
    from = at + 1;
  }
  return n ? out + sql.slice(from) : sql;
}

/** PostgreSQL through pg: `$n` placeholders, `Date` parameters, jsonb parsed by the driver. */
const postgres: SqlDialect = {
  name: 'postgres',
  concurrent: true,
  text: numberPlaceholders,
  time: (date) => date,
  readTime: (value) => (value === null || value === undefined ? null : new Date(value as Date | string)),
  readJson,
  lockRows: (select) => statement(`${select.sql} FOR UPDATE`, select.params),
  tryAdvisoryLock: (key) => statement('SELECT pg_try_advisory_xact_lock(?) AS ok', [key]),
  // Data-modifying CTEs: one round trip for all. They run on one snapshot and see none of each other's
  // changes, hence "independent"; placeholders stay in order, so the parameters simply concatenate.
  combineWrites(statements) {
    const head = statements.slice(0, -1);
    const last = statements[statements.length - 1];
    if (!head.length) return last;
    // The protocol counts bind parameters in 16 bits: beyond that, one statement each.
    if (statements.reduce((n, s) => n + s.params.length, 0) > MAX_PG_PARAMETERS) return null;
    return statement(
      `WITH ${head.map((s, i) => `w${i} AS (${s.sql})`).join(', ')} ${last.sql}`,
      statements.flatMap((s) => s.params),
    );
  },
  combineWithReads(write, reads) {
    const all = [write, ...reads];
    if (all.reduce((n, s) => n + s.params.length, 0) > MAX_PG_PARAMETERS) return null;
    // json_agg keeps each part's own columns and row count in one row, whatever their shapes.
    const parts = [
      `(SELECT coalesce(json_agg(w), '[]') FROM w) AS r0`,
      ...reads.map((r, i) => `(SELECT coalesce(json_agg(q), '[]') FROM (${r.sql}) q) AS r${i + 1}`),
    ];
    return statement(
      `WITH w AS (${write.sql}) SELECT ${parts.join(', ')}`,
      all.flatMap((s) => s.params),
    );
  },
};

/** The last time converted and its text: a callback's statements pass the same arrival time many times. */
let lastTime = { ms: NaN, text: '' };

function sqliteTime(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastTime.ms) lastTime = { ms, text: date.toISOString().replace('T', ' ').replace('Z', '') };
  return lastTime.text;
}

/**
 * SQLite through better-sqlite3: `?` placeholders, datetimes as the UTC text TypeORM itself writes
 * (`YYYY-MM-DD HH:MM:SS.SSS`, so entity reads and sorting agree), JSON as text.
 */
const sqlite: SqlDialect = {
  name: 'sqlite',
  concurrent: false,
  text: (sql) => sql,
  time: (date) => (date === null ? null : sqliteTime(date)),
  readTime(value) {
    if (value === null || value === undefined) return null;
    if (value instanceof Date) return value;
    const text = String(value);
    return new Date(text.includes('T') ? text : `${text.replace(' ', 'T')}Z`);
  },
  readJson,
  // One writer at a time already keeps write transactions and checks apart.
  lockRows: () => null,
  tryAdvisoryLock: () => null,
  // A statement costs no round trip here: run them one after another.
  combineWrites: () => null,
  combineWithReads: () => null,
};

/**
 * The dialect of a TypeORM DataSource type.
 *
 * @example
 * const dialect = dialectOf(dataSource.options.type);
 */
export function dialectOf(type: string): SqlDialect {
  return type === 'postgres' ? postgres : sqlite;
}

/**
 * A write with reads as one statement where the dialect can ({@link SqlDialect.combineWithReads}), else
 * the write alone (the reads are then never built), and how to read its rows: the write's rows, and each
 * read's rows (null when they did not run). On PostgreSQL all run on one snapshot: each read sees the
 * database as it was before the write, so none may depend on it, and the rows come as JSON (numbers,
 * text, datetimes as ISO text: read them with the dialect), not typed by the driver.
 *
 * @example
 * const { statement, read } = combineWithReads(dialect, insert, () => [fileSql.select(keys)]);
 */
export function combineWithReads<R = Record<string, unknown>>(
  dialect: SqlDialect,
  write: Statement,
  reads: () => readonly Statement[],
): {
  statement: Statement;
  read(rows: Record<string, unknown>[]): { rows: R[]; reads: Record<string, unknown>[][] | null };
} {
  const list = dialect.concurrent ? reads() : [];
  const one = list.length ? dialect.combineWithReads(write, list) : null;
  return {
    statement: one ?? write,
    read: (rows) => {
      if (!one) return { rows: rows as R[], reads: null };
      const row = rows[0] as Record<string, Record<string, unknown>[]>;
      return { rows: row.r0 as R[], reads: list.map((_, i) => row[`r${i + 1}`]) };
    },
  };
}
