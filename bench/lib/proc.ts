import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The repository root (this file runs from dist/bench/lib). */
export const ROOT = resolve(__dirname, '..', '..', '..');

/** Resolves a path under the repository root. */
export const fromRoot = (...parts: string[]) => join(ROOT, ...parts);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => res(port));
    });
  });
}

/** One HTTP request to 127.0.0.1; resolves with status and body (bounded by `timeoutMs`). */
export function httpRequest(
  port: number,
  path: string,
  opts: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) }
          : {},
        timeout: opts.timeoutMs ?? 5000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () =>
          res({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end(opts.body);
  });
}

/** Memory of a process from /proc/<pid>/status, in MiB: current RSS and its peak (VmHWM). */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * CPU time a process has used so far (user + system, from /proc/<pid>/stat), in milliseconds. The
 * difference over the measured phase divided by the answers is the server's CPU cost per callback, a
 * figure that depends far less on what else runs on the machine than throughput does.
 */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * CPU time, in ms, of each PostgreSQL backend on this machine connected to database `name` (their process
 * titles read `postgres: [<cluster>:] <user> <database> <client> <state>`), by pid. Empty when the server runs elsewhere.
 */
export function backendCpuMs(name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!title.startsWith('postgres: ') || !title.split(' ').includes(name)) continue;
      out.set(Number(entry), cpuMsOf(Number(entry)));
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

/** CPU ms spent between two {@link backendCpuMs} readings; a backend started in between counts whole. */
export function backendCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) if (Number.isFinite(now)) ms += now - (before.get(pid) ?? 0);
  return ms;
}

/** USER_HZ, which Linux fixes at 100 on every common architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Samples a process's RSS at a fixed interval until stopped. */
export class RssSampler {
  readonly samples: Array<{ t: number; rssMiB: number }> = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 250,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      const m = memoryOf(this.pid);
      if (m) this.samples.push({ t: Date.now(), rssMiB: m.rssMiB });
    }, this.everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Largest RSS sampled at or after `since` (epoch ms). */
  maxSince(since = 0): number {
    let max = 0;
    for (const s of this.samples) if (s.t >= since && s.rssMiB > max) max = s.rssMiB;
    return max;
  }
}

/** A server under test, run as a child process with its output in a log file. */
export class ServerProcess {
  private exited?: Promise<number | null>;
  exitCode: number | null | undefined;
  /** When the process exited (epoch ms). */
  exitedAt?: number;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
  ) {
    this.exited = new Promise((res) =>
      child.once('exit', (code, signal) => {
        this.exitedAt = Date.now();
        this.exitCode = code ?? (signal ? -1 : null);
        res(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Starts `node [nodeArgs] script` with `env` (on top of PATH/HOME only, so the caller's settings do not
   * leak in), stdout and stderr appended to `logFile`, and waits until GET `readyPath` answers below 500.
   */
  static async start(opts: {
    name: string;
    script: string;
    env: Record<string, string>;
    port: number;
    logFile: string;
    nodeArgs?: string[];
    readyPath: string;
    readyTimeoutMs?: number;
  }): Promise<ServerProcess> {
    if (!existsSync(opts.script)) throw new Error(`${opts.script} is missing: build first (npm run bench builds)`);
    const log = openSync(opts.logFile, 'a');
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env, PORT: String(opts.port) },
      stdio: ['ignore', log, log],
      // Its own session (BENCH_DETACHED=1): a scheduling group apart from the load generator's where the
      // kernel groups by session (autogroups), as for a server a service manager starts.
      detached: process.env.BENCH_DETACHED === '1',
    });
    closeSync(log);
    const server = new ServerProcess(opts.name, child, opts.port, opts.logFile);
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (server.exitCode !== undefined) {
        throw new Error(`${opts.name} exited (code ${server.exitCode}) before it was ready; see ${opts.logFile}`);
      }
      try {
        const { status } = await httpRequest(opts.port, opts.readyPath, { timeoutMs: 2000 });
        if (status < 500) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`${opts.name} was not ready within ${opts.readyTimeoutMs ?? 60_000} ms; see ${opts.logFile}`);
      }
      await sleep(100);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGTERM');
    const killed = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited, killed])) === 'timeout' && this.exitCode === undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
