import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../../ormconfig';
import type { TestDatabase } from './databases';
import type { HostLogLine } from './delivery-host';

/** A host app running as a child process. */
export interface ChildHost {
  name: string;
  process: ChildProcess;
  url: string;
  /** Everything the process wrote to stderr (and stdout) so far, for failure messages. */
  output(): string;
  /** Sends a signal and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Environment that points a child host at a test database. */
export function databaseEnv(db: TestDatabase): Record<string, string> {
  return db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : { SQLITE_PATH: db.sqlitePath };
}

/**
 * Spawns `node <script>` with `env` and waits for its `LISTENING <port>` line.
 *
 * @example
 * const host = await spawnHost('a', build.js('test/support/delivery-host.ts'), { ...databaseEnv(db), EVENT_LOG });
 */
export function spawnHost(
  name: string,
  script: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ChildHost> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const host: ChildHost = {
    name,
    process: child,
    url: '',
    output: () => output,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`host ${name} did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /LISTENING (\d+)/.exec(output);
      if (match && !host.url) {
        clearTimeout(timer);
        host.url = `http://127.0.0.1:${match[1]}`;
        resolve(host);
      }
    });
    child.once('exit', (code, signal) => {
      if (host.url) return;
      clearTimeout(timer);
      reject(new Error(`host ${name} exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

/**
 * The complete lines of a host event log (a line is written with one append, so a killed process
 * leaves no partial line; a partial one would fail JSON.parse loudly).
 */
export function readHostLog(path: string): HostLogLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as HostLogLine);
}

/**
 * A DataSource of the test's own on the database a child host uses, for reading delivery rows.
 *
 * @example
 * const ds = await openDatabase(db); await ds.query('SELECT status FROM recording_deliveries');
 */
export async function openDatabase(db: TestDatabase): Promise<DataSource> {
  const ds = new DataSource({
    ...databaseOptions({ databaseUrl: db.databaseUrl, sqlitePath: db.sqlitePath, poolSize: 2 }),
    migrations: [],
  });
  await ds.initialize();
  return ds;
}

/** A delivery row as tests read it, with numbers as numbers on both databases. */
export interface DeliveryRowView {
  id: number;
  callbackId: number | null;
  taskId: string;
  status: string;
  attempts: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastError: string | null;
}

/** Every delivery row, oldest first. */
export async function deliveryRows(ds: DataSource): Promise<DeliveryRowView[]> {
  const rows: Array<Record<string, unknown>> = await ds.query(
    'SELECT id, callback_id, task_id, status, attempts, lease_owner, lease_until, last_error FROM recording_deliveries ORDER BY id',
  );
  return rows.map((r) => ({
    id: Number(r.id),
    callbackId: r.callback_id === null ? null : Number(r.callback_id),
    taskId: String(r.task_id),
    status: String(r.status),
    attempts: Number(r.attempts),
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
    lastError: (r.last_error as string | null) ?? null,
  }));
}
