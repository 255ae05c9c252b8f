import { Client } from 'pg';
import type { PostgresHandle } from './postgres-server';

/** Drops the run's throw-away database and stops a server the run started itself. */
export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__RC_PG__ as
    { server: PostgresHandle; name: string } | undefined;
  if (!state) return;
  const admin = new Client({ connectionString: state.server.adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${state.name} WITH (FORCE)`);
  await admin.end();
  await state.server.stop();
}
