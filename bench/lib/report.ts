import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT, fromRoot } from './proc';

/** A number read from the environment, or `fallback`. Throws on a value that is not a number >= min. */
export function envNumber(name: string, fallback: number, min = 0): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${text}"`);
  return value;
}

/** Fixed-width table for the terminal. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toString() : '-');
export const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

/** One target with its verdict. */
export interface TargetCheck {
  name: string;
  value: string;
  goal: string;
  pass: boolean | null;
}

export function printTargets(checks: TargetCheck[]): void {
  console.log('\nTargets');
  for (const c of checks) {
    const verdict = c.pass === null ? 'n/a ' : c.pass ? 'PASS' : 'FAIL';
    console.log(`  [${verdict}] ${c.name}: ${c.value} (target ${c.goal})`);
  }
}

/**
 * Share of one CPU that a busy thread of this process gets over `ms` (1.0 on an idle machine): a direct
 * measure of how much other work competes for the CPUs right now.
 */
export function cpuShare(ms = 1000): number {
  const start = Date.now();
  const before = process.cpuUsage();
  while (Date.now() - start < ms) {
    // spin
  }
  const used = process.cpuUsage(before);
  return Math.round(((used.user + used.system) / 1000 / (Date.now() - start)) * 100) / 100;
}

/** The machine and the state of the tree, for the record. */
export function environment(): Record<string, unknown> {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  const dirty = git('status', '--porcelain', '--', 'src', 'ormconfig.ts');
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    cpuShareOfBusyThread: cpuShare(),
    commit: git('rev-parse', '--short', 'HEAD'),
    srcUncommittedFiles: dirty ? dirty.split('\n').length : 0,
  };
}

/** Prints the machine line and warns when other work loads the machine (figures are then noisy). */
export function printEnvironment(env: Record<string, unknown>): void {
  const load = env.loadAverage as number[];
  const share = env.cpuShareOfBusyThread as number;
  console.log(
    `node ${env.node} · ${env.cpus} CPUs (${env.cpuModel}) · ${env.memoryGiB} GiB · load ${load.join(' ')} · ` +
      `a busy thread gets ${Math.round(share * 100)}% of a CPU · ` +
      `commit ${env.commit}${env.srcUncommittedFiles ? ` + ${env.srcUncommittedFiles} uncommitted file(s) in src/` : ''}`,
  );
  if (load[0] > 0.5 || share < 0.9) {
    console.log(
      `WARNING: load average ${load[0]}, a busy thread gets ${Math.round(share * 100)}% of a CPU: ` +
        'other processes share the CPUs, figures are noisy.',
    );
  }
}

/** A folder for this run's logs and results: BENCH_OUT, else data/bench/<timestamp>. */
export function outputDir(kind: string): string {
  const dir =
    process.env.BENCH_OUT || fromRoot('data', 'bench', `${new Date().toISOString().replace(/[:.]/g, '-')}-${kind}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}
