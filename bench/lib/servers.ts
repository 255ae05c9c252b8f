import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchDatabase, postgresDatabase, sqliteDatabase, throwAwayName } from './databases';
import { ROOT, ServerProcess, freePort, fromRoot } from './proc';
import { BENCH_KEY } from './workload';

/** The receivers under test: the module, the hand-written baseline, and optionally another build of the module. */
export type ServerKind = 'module' | 'baseline' | 'module-b';

const SCRIPTS: Record<ServerKind, { script: string; readyPath: string }> = {
  // The production host app, exactly as `node dist/src/main.js` runs it.
  // BENCH_MODULE_SCRIPT runs another build of the host app instead (an A/B experiment, e.g. a patched copy of
  // dist/ under the repository so that it resolves the same node_modules).
  module: {
    script: process.env.BENCH_MODULE_SCRIPT || fromRoot('dist', 'src', 'main.js'),
    readyPath: '/recording-tasks?limit=1',
  },
  baseline: { script: join(ROOT, 'dist', 'bench', 'baseline', 'server.js'), readyPath: '/health' },
  // BENCH_MODULE_B_SCRIPT, with BENCH_SERVERS=module,module-b,baseline: a second build of the host app in the
  // same rounds, so that an A/B sees the same machine minute by minute.
  'module-b': { script: process.env.BENCH_MODULE_B_SCRIPT ?? '', readyPath: '/recording-tasks?limit=1' },
};

/** A fresh database of `kind` for one server; PostgreSQL ones are created from `adminUrl`. */
export async function freshDatabase(
  kind: 'sqlite' | 'postgres',
  label: string,
  adminUrl?: string,
): Promise<BenchDatabase> {
  if (kind === 'sqlite') return sqliteDatabase(label);
  if (!adminUrl) throw new Error('DATABASE_URL is needed for PostgreSQL');
  return postgresDatabase(adminUrl, throwAwayName(label));
}

/**
 * Starts one server on `db`: NODE_ENV=production, HMACSHA256 with the bench key, output to `logFile`.
 * `profileDir` runs it under `--cpu-prof` (the profile is written when it stops).
 */
export async function startServer(
  kind: ServerKind,
  db: BenchDatabase,
  logFile: string,
  opts: { profileDir?: string; extraEnv?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const { script, readyPath } = SCRIPTS[kind];
  const nodeArgs = opts.profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, '-r', join(ROOT, 'dist', 'bench', 'lib', 'profile-exit.js')]
    : [];
  // Runtime flags for both servers alike (e.g. BENCH_NODE_ARGS=--max-semi-space-size=64).
  nodeArgs.push(...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean));
  // Diagnostics preloaded into the server: event-loop stalls, and better-sqlite3 statement counts and time.
  const preload = (file: string) => nodeArgs.push('-r', join(ROOT, 'dist', 'bench', 'lib', file));
  if (process.env.BENCH_LOOP_MONITOR === '1') preload('loop-monitor.js');
  if (process.env.BENCH_SQL_STATS === '1') preload('sql-stats.js');
  return ServerProcess.start({
    name: `${kind} (${db.kind})`,
    script,
    nodeArgs,
    port: await freePort(),
    logFile,
    readyPath,
    env: {
      NODE_ENV: 'production',
      RECORDING_CALLBACK_ALGORITHM: 'HMACSHA256',
      RECORDING_CALLBACK_KEYS: BENCH_KEY,
      ...db.env,
      ...opts.extraEnv,
    },
  });
}

/** The newest .cpuprofile in a folder. */
export function newestProfile(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  return files.sort().map((f) => join(dir, f))[files.length - 1];
}

/** Lines of the module's per-callback log in a log file, as text lines or inside JSON log entries. */
export function callbackLogLines(logFile: string): number {
  try {
    return readFileSync(logFile, 'utf8').match(/"msg\\?":\\?"recording callback\\?"/g)?.length ?? 0;
  } catch {
    return 0;
  }
}

/** SQL statement counts and time of one kind, added up over a phase. */
export interface SqlStat {
  kind: string;
  n: number;
  ms: number;
}

/** Adds up the `[bench-sql-stats]` lines (BENCH_SQL_STATS=1) of a log whose second ended in (from, to]. */
export function sqlStats(logFile: string, from: number, to: number): SqlStat[] {
  const totals = new Map<string, SqlStat>();
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('[bench-sql-stats] {')) continue;
    const { t, byKind } = JSON.parse(line.slice('[bench-sql-stats] '.length)) as {
      t: number;
      byKind: Record<string, { n: number; ms: number }>;
    };
    if (t <= from || t > to) continue;
    for (const [kind, s] of Object.entries(byKind)) {
      const total = totals.get(kind) ?? { kind, n: 0, ms: 0 };
      total.n += s.n;
      total.ms += s.ms;
      totals.set(kind, total);
    }
  }
  return [...totals.values()].sort((a, b) => b.ms - a.ms);
}
