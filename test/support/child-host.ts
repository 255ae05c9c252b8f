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
  port: number;
  /** Everything the process wrote to stderr (and stdout) so far, for failure messages. */
  output(): string;
  /** What it wrote to stdout only. */
  stdout(): string;
  /** Resolves with the exit code (or the signal's name) once it exited and its output was read. */
  exited: Promise<number | string>;
  /** Sends a signal (unless it already exited) and resolves with the exit code once it has exited. */
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

/** Environment that points a child host at a test database. */
export function databaseEnv(db: TestDatabase): Record<string, string> {
  return db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : { SQLITE_PATH: db.sqlitePath };
}

/** How a host says it listens: `LISTENING <port>` (test hosts) or the real host's banner. */
const LISTENING = [/^LISTENING (\d+)$/m, /Recording callbacks: POST http:\/\/127\.0\.0\.1:(\d+)\//];

function run(script: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Spawns `node <script>` (a compiled test host, or the real host `src/main.ts`) with exactly `env` (plus
 * PATH and NODE_ENV=test) and waits until it listens. The one way the e2e suites start a process, for
 * what only a process shows (environment parsing, signals, SIGKILL, several instances); an app inside
 * the test process is started by `startApp` (start-app.ts).
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
  const child = run(script, env);
  let output = '';
  let stdout = '';
  // 'close' comes after the process exited and its output was read to the end.
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const host: ChildHost = {
    name,
    process: child,
    url: '',
    port: 0,
    output: () => output,
    stdout: () => stdout,
    exited,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
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
      stdout += chunk.toString();
      const port = LISTENING.map((re) => re.exec(stdout)?.[1]).find(Boolean);
      if (port && !host.url) {
        clearTimeout(timer);
        host.url = `http://127.0.0.1:${port}`;
        host.port = Number(port);
        resolve(host);
      }
    });
    void exited.then((code) => {
      if (host.url) return;
      clearTimeout(timer);
      reject(new Error(`host ${name} exited (${code}) before listening:\n${output}`));
    });
  });
}

/**
 * Runs `node <script>` to its end (a start-up that must fail) and returns its exit code and output.
 *
 * @example
 * const { code, stderr } = await runToExit(build.js('src/main.ts'), { DATABASE_POOL_SIZE: 'many' });
 */
export async function runToExit(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = run(script, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | string>((resolve) =>
    child.once('close', (c, signal) => resolve(c ?? signal ?? -1)),
  );
  clearTimeout(timer);
  return { code, stdout, stderr };
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
