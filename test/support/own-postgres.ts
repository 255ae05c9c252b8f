import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

/**
 * A PostgreSQL server that one suite owns alone: it may stop, kill and restart it at will (fault tests),
 * which it must never do to the shared server that `postgres-server.ts` finds.
 */
export interface OwnPostgres {
  port: number;
  /** Superuser URL of the `postgres` database. */
  adminUrl: string;
  /** URL of another database on this server. */
  urlFor(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m <mode>`; resolves when the server is down. Never blocks the event loop. */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl start -w` with the same settings; resolves when the server accepts connections. */
  start(): Promise<void>;
  /** The server's log so far (for failure messages). */
  log(): string;
  /** Stops the server if it runs and deletes its files. */
  destroy(): Promise<void>;
}

/** The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
}

/** Runs a PostgreSQL binary; as root through `runuser -u postgres --`, since the server refuses root. */
async function runAsPostgres(bin: string, args: string[], timeoutMs = 60_000): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'runuser' : bin;
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  try {
    await run(command, argv, { timeout: timeoutMs });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throw-away PostgreSQL server from the Debian binaries in a fresh temp folder, on a free
 * port, as the `postgres` user when running as root. Fails (never skips) when the binaries are missing.
 *
 * @example
 * const pg = await startOwnPostgres();
 * const url = await pg.createDatabase('faults');
 * await pg.stop('fast'); await pg.start();
 * await pg.destroy();
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      'This suite starts its own PostgreSQL server and needs its binaries in /usr/lib/postgresql/<version>/bin ' +
        '(Debian package "postgresql"); none were found. Install them: apt-get install postgresql',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'rc-own-pg-'));
  chmodSync(dir, 0o777);
  if (process.getuid?.() === 0) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  await runAsPostgres(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  // fsync=off only matters for an operating-system crash; a stopped or killed server keeps every commit.
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const start = () =>
    runAsPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '30', '-l', logFile, '-o', serverOptions, 'start']);
  let running = false;
  await start();
  running = true;

  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    adminUrl,
    urlFor,
    async createDatabase(name) {
      const admin = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      return urlFor(name);
    },
    async stop(mode = 'fast') {
      await runAsPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '30', '-m', mode, 'stop']);
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async destroy() {
      if (running)
        await runAsPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-w', '-m', 'immediate', 'stop']).catch(
          () => undefined,
        );
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
