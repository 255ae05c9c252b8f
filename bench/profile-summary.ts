/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`) by self time: per function and per package.
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top=25] [filter]
 *
 * With a filter, prints only the inclusive time of functions whose label contains it (e.g. "typeorm").
 *
 * Packages: the innermost node_modules package of a frame's file; the project's own files are grouped
 * by folder ("project:recording-callback/callback"); Node's own JavaScript is "node:<module>"; frames
 * without a file are "(native)", and V8's pseudo-frames ((garbage collector), (program), (idle)) stand
 * for themselves. Idle time is left out of the percentages.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './lib/proc';
import { f1, table } from './lib/report';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time of one group, in milliseconds and as a share of the busy (non-idle) time. */
export interface Cost {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  gcMs: number;
  byFunction: Cost[];
  byPackage: Cost[];
  /** Time with the function anywhere on the stack (each sample counted once per function). */
  inclusive: Cost[];
}

/** Only samples in this window count: milliseconds before the profile's end (its process's exit). */
export interface ProfileWindow {
  fromMsBeforeEnd: number;
  toMsBeforeEnd: number;
}

function filePath(url: string): string {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      return url;
    }
  }
  return url;
}

/** The package (or project folder) a frame belongs to. */
export function packageOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const path = filePath(url);
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const rel = relative(ROOT, path);
  if (rel.startsWith('..')) return path;
  const parts = rel.split('/').filter((p) => p !== 'dist' && p !== 'src');
  return `project:${parts.slice(0, Math.min(2, parts.length - 1)).join('/') || parts[0]}`;
}

function functionLabel(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const path = filePath(frame.url);
  const nm = path.lastIndexOf('/node_modules/');
  const short = nm >= 0 ? path.slice(nm + '/node_modules/'.length) : relative(ROOT, path);
  return `${name}  ${short}:${frame.lineNumber + 1}`;
}

/**
 * Reads a .cpuprofile and adds up self time per function and per package, and inclusive time per
 * function; `window` keeps only the samples taken in that part of the run.
 */
export function summariseProfile(file: string, window?: ProfileWindow): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfById = new Map<number, number>();
  const from = window ? profile.endTime - window.fromMsBeforeEnd * 1000 : -Infinity;
  const to = window ? profile.endTime - window.toMsBeforeEnd * 1000 : Infinity;
  // timeDeltas[i] is the time between sample i-1 and sample i; attribute it to sample i's frame.
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
    t += delta;
    if (t < from || t > to) continue;
    const id = profile.samples[i];
    selfById.set(id, (selfById.get(id) ?? 0) + delta);
  }
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfById) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const frame = byId.get(n)!.callFrame;
      if (frame.functionName === '(root)') continue;
      seen.add(functionLabel(frame));
    }
    for (const label of seen) inclusive.set(label, (inclusive.get(label) ?? 0) + us);
  }
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  for (const [id, us] of selfById) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (frame.functionName === '(garbage collector)') gcUs += us;
    const label = functionLabel(frame);
    fn.set(label, (fn.get(label) ?? 0) + us);
    const p = packageOf(frame);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const costs = (m: Map<string, number>) =>
    [...m.entries()]
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: busyUs ? us / busyUs : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    gcMs: gcUs / 1000,
    byFunction: costs(fn),
    byPackage: costs(pkg),
    inclusive: costs(inclusive),
  };
}

/** The summary as text: totals, then the top packages and functions by self time. */
export function formatProfileSummary(s: ProfileSummary, top = 25): string {
  const rows = (costs: Cost[]) => costs.slice(0, top).map((c) => [c.name, f1(c.selfMs), `${f1(c.share * 100)}%`]);
  return [
    `profile: ${f1(s.totalMs / 1000)} s sampled, ${f1(s.busyMs / 1000)} s busy (${f1((s.busyMs / s.totalMs) * 100)}%), ` +
      `GC ${f1((s.gcMs / s.busyMs) * 100)}% of busy`,
    '',
    'Self time by package (share of busy time)',
    table(['package', 'self ms', 'share'], rows(s.byPackage)),
    '',
    'Self time by function',
    table(['function', 'self ms', 'share'], rows(s.byFunction)),
    '',
    'Inclusive time by function (the function anywhere on the stack)',
    table(['function', 'total ms', 'share'], rows(s.inclusive)),
  ].join('\n');
}

if (require.main === module) {
  const [file, top, filter] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top=25] [filter]');
    process.exit(2);
  }
  const summary = summariseProfile(file);
  if (filter) {
    // Inclusive time of the functions whose label contains `filter` (e.g. a package or file name).
    const rows = summary.inclusive.filter((c) => c.name.includes(filter)).slice(0, Number(top) || 25);
    console.log(
      table(
        ['function', 'total ms', 'share'],
        rows.map((c) => [c.name, f1(c.selfMs), `${f1(c.share * 100)}%`]),
      ),
    );
  } else {
    console.log(formatProfileSummary(summary, Number(top) || 25));
  }
}
