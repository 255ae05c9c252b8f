import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** A database an e2e suite may use alone, and how to throw it away. */
export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  /** Host-config style settings: `databaseUrl` for PostgreSQL, `sqlitePath` for SQLite. */
  databaseUrl?: string;
  sqlitePath: string;
  drop(): Promise<void>;
}

/** Both kinds, for `describe.each(DATABASE_KINDS)`. */
export const DATABASE_KINDS = ['sqlite', 'postgres'] as const;

let counter = 0;

/**
 * Creates an empty database of the given kind: a fresh SQLite file in a temp folder, or a fresh
 * PostgreSQL database on the server the global setup found (E2E_POSTGRES_ADMIN_URL).
 *
 * @example
 * const db = await createTestDatabase('postgres'); ...; await db.drop();
 */
export async function createTestDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-e2e-'));
  const sqlitePath = join(dir, 'recordings.sqlite');
  if (kind === 'sqlite') {
    return { kind, sqlitePath, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.E2E_POSTGRES_ADMIN_URL;
  if (!adminUrl) throw new Error('E2E_POSTGRES_ADMIN_URL is not set: the e2e global setup did not run');
  const name = `rc_t_${process.pid}_${Date.now()}_${counter++}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    databaseUrl: url.toString(),
    sqlitePath,
    drop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
