import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** Where one server under test keeps its data: a fresh SQLite file or a fresh PostgreSQL database. */
export interface BenchDatabase {
  kind: 'sqlite' | 'postgres';
  /** Environment for the server: SQLITE_PATH or DATABASE_URL. */
  env: Record<string, string>;
  sqlitePath?: string;
  databaseUrl?: string;
  /** The PostgreSQL database's name (to find its backends' CPU time). */
  databaseName?: string;
  /** Runs a read-only query (`?` placeholders) and returns its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Deletes the file or drops the database (unless BENCH_KEEP_DB=1). */
  dispose(): Promise<void>;
}

const keep = () => process.env.BENCH_KEEP_DB === '1';

/** A fresh SQLite file in a new temp folder. */
export function sqliteDatabase(label: string): BenchDatabase {
  const dir = mkdtempSync(join(tmpdir(), `rc-bench-${label}-`));
  return sqliteAt(join(dir, 'bench.sqlite'), () => rmSync(dir, { recursive: true, force: true }));
}

/** An existing SQLite file (e.g. a seeded one). */
export function sqliteAt(path: string, remove?: () => void): BenchDatabase {
  return {
    kind: 'sqlite',
    env: { SQLITE_PATH: path },
    sqlitePath: path,
    async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
      const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
      try {
        return db.prepare(sql).all(...params) as R[];
      } finally {
        db.close();
      }
    },
    async dispose() {
      if (!keep()) remove?.();
    },
  };
}

/** `url` with another database name. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Hides the password of a connection URL. */
export const redact = (url: string) => url.replace(/:[^:@/]*@/, ':***@');

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A PostgreSQL database on the server of `adminUrl`, by name (created when `create`). */
export async function postgresDatabase(adminUrl: string, name: string, create = true): Promise<BenchDatabase> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  if (create) await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = withDatabase(adminUrl, name);
  return {
    kind: 'postgres',
    env: { DATABASE_URL: url },
    databaseUrl: url,
    databaseName: name,
    async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      return withClient(url, async (c) => (await c.query(text, params)).rows as R[]);
    },
    async dispose() {
      if (keep() || !create) return;
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** A unique name for a throw-away database. */
export function throwAwayName(label: string): string {
  return `rc_bench_${label}_${process.pid}_${Date.now().toString(36)}`;
}

/** Row counts of the recording tables (missing tables count as null). */
export async function tableCounts(db: BenchDatabase): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const table of [
    'recording_tasks',
    'recording_callbacks',
    'recording_files',
    'recording_task_transitions',
    'recording_deliveries',
  ]) {
    try {
      const [row] = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`);
      out[table] = Number(row.n);
    } catch {
      out[table] = null;
    }
  }
  return out;
}

/** Deliveries not finished yet (pending or failed), or null when the table does not exist. */
export async function openDeliveries(db: BenchDatabase): Promise<number | null> {
  try {
    const [row] = await db.query<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM recording_deliveries WHERE status IN ('pending', 'failed')`,
    );
    return Number(row.n);
  } catch {
    return null;
  }
}
