import { Client } from 'pg';
import { findOrStartPostgres } from './postgres-server';

/**
 * Makes one throw-away PostgreSQL database for this test run and exposes it as `E2E_POSTGRES_URL`.
 * Each suite then creates its own schema-isolated database from it (see `test/support/databases.ts`).
 */
export default async function globalSetup(): Promise<void> {
  const server = await findOrStartPostgres();
  const name = `rc_e2e_${Date.now()}_${process.pid}`;
  const admin = new Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  process.env.E2E_POSTGRES_ADMIN_URL = server.adminUrl;
  process.env.E2E_POSTGRES_URL = url.toString();
  (globalThis as Record<string, unknown>).__RC_PG__ = { server, name };
}
