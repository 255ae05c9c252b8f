import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** Where the e2e suite finds PostgreSQL, and how to clean up after it. */
export interface PostgresHandle {
  adminUrl: string;
  stop(): void;
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

function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
}

/** Runs a PostgreSQL binary; as root it switches to the `postgres` user, since the server refuses root. */
function runAsPostgres(bin: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'runuser' : bin;
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  execFileSync(command, argv, { stdio: 'pipe' });
}

/**
 * Finds a PostgreSQL server for the e2e suite: `TEST_POSTGRES_URL` if given, else the local server at
 * 127.0.0.1:5432, else a throw-away server started from the Debian `postgresql` binaries.
 * Fails with a message that says what to install when none of these works; it never skips.
 */
export async function findOrStartPostgres(): Promise<PostgresHandle> {
  const given = process.env.TEST_POSTGRES_URL;
  if (given) {
    if (await reachable(given)) return { adminUrl: given, stop: () => undefined };
    throw new Error(`TEST_POSTGRES_URL=${given.replace(/:[^:@/]*@/, ':***@')} is not reachable`);
  }
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (await reachable(local)) return { adminUrl: local, stop: () => undefined };

  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      'The e2e suite needs PostgreSQL: none answers at 127.0.0.1:5432 and no server binaries were found in ' +
        '/usr/lib/postgresql. Install them (apt-get install postgresql) or set TEST_POSTGRES_URL.',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'rc-pg-'));
  chmodSync(dir, 0o777);
  const dataDir = join(dir, 'data');
  const port = 54000 + (process.pid % 1000);
  if (process.getuid?.() === 0) spawnSync('chown', ['postgres', dir]);
  runAsPostgres(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  runAsPostgres(join(bin, 'pg_ctl'), [
    '-D',
    dataDir,
    '-w',
    '-l',
    join(dir, 'server.log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  if (!(await reachable(adminUrl)))
    throw new Error(`started PostgreSQL in ${dir} but cannot connect; see server.log there`);
  return {
    adminUrl,
    stop: () => {
      runAsPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
