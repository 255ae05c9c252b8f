import { Client } from 'pg';
import { postgresBinDir, startOwnPostgres } from './own-postgres';

/** Where the e2e suite finds PostgreSQL, and how to clean up after it. */
export interface PostgresHandle {
  adminUrl: string;
  stop(): Promise<void>;
}

async function reachable(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Finds a PostgreSQL server for the e2e suite: `TEST_POSTGRES_URL` if given, else the local server at
 * 127.0.0.1:5432, else a throw-away server started from the Debian `postgresql` binaries on a free
 * port (see `own-postgres.ts`). Fails with a message that says what to install when none of these
 * works; it never skips.
 */
export async function findOrStartPostgres(): Promise<PostgresHandle> {
  const given = process.env.TEST_POSTGRES_URL;
  if (given) {
    if (await reachable(given)) return { adminUrl: given, stop: async () => undefined };
    throw new Error(`TEST_POSTGRES_URL=${given.replace(/:[^:@/]*@/, ':***@')} is not reachable`);
  }
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (await reachable(local)) return { adminUrl: local, stop: async () => undefined };
  if (!postgresBinDir()) {
    throw new Error(
      'The e2e suite needs PostgreSQL: none answers at 127.0.0.1:5432 and no server binaries were found in ' +
        '/usr/lib/postgresql. Install them (apt-get install postgresql) or set TEST_POSTGRES_URL.',
    );
  }
  const own = await startOwnPostgres();
  return { adminUrl: own.adminUrl, stop: () => own.destroy() };
}
