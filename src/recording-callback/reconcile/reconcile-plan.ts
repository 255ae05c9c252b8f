import { createHash } from 'node:crypto';
import { recoveryKeyOf } from '../protocol/live-api';
import type { RecordContentItem } from '../protocol/live-api';

/**
 * A stored file as matching sees it.
 *
 * @example
 * { taskId: 't1', jobId: 'j1', recordFormat: 'HLS', downloadUrl: 'https://…', startTime, endTime, recoveryKey: null }
 */
export interface StoredFileRef {
  taskId: string;
  jobId: string;
  recordFormat: string;
  downloadUrl: string | null;
  startTime: Date | null;
  endTime: Date | null;
  recoveryKey: string | null;
}

/**
 * A stored task of a listed stream, as matching sees it.
 *
 * @example
 * { taskId: 't1', publishDomain: 'push.example.com', app: 'live', stream: 's1', status: 'RECORDING', createdAt, lastEventAt, stalledAt: null }
 */
export interface KnownTask {
  taskId: string;
  publishDomain: string;
  app: string;
  stream: string;
  status: string;
  createdAt: Date;
  lastEventAt: Date | null;
  stalledAt: Date | null;
}

/** A listed file to store: its identity, times, and the task it goes to (a real one, or synthetic). */
export interface Recovery {
  item: RecordContentItem;
  recoveryKey: string;
  /** The file's `job_id`: listing items have none, so one is made from the key. */
  jobId: string;
  recordFormat: string;
  startTime: Date | null;
  endTime: Date | null;
  /** The task the file joins. */
  taskId: string;
  /** True when no stored task matched and `taskId` is the stream's synthetic task. */
  synthetic: boolean;
}

/**
 * What one window came to: how many listed files the database already had, which to recover, which
 * tasks look stalled, and the items that could not be used.
 */
export interface ReconcilePlan {
  listed: number;
  matched: number;
  recover: Recovery[];
  stalledTaskIds: string[];
  errors: string[];
}

/** Settings of {@link planReconciliation}. */
export interface PlanSettings {
  /** Start and end times within this many milliseconds count as the same file (default 5000). */
  toleranceMs?: number;
  /** Now, for the stall rule. */
  now: Date;
  /** A RECORDING task whose stream's last listed file ended this long ago is reported as stalled. */
  stallAfterMs: number;
  /** Whether the module takes callbacks of this domain (items of other domains are not the app's). */
  accepts: (publishDomain: string) => boolean;
}

/** Longest values the file and task columns hold. */
const MAX_ID = 256;
const MAX_URL = 2048;

const streamKey = (d: string, a: string, s: string) => JSON.stringify([d, a, s]);
const sameFormat = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The id of the task that collects a stream's recovered files when no stored task matches them:
 * `reconciled-` and 32 hex digits of the stream's SHA-256, so every instance and run picks the same.
 *
 * @example
 * syntheticTaskId('push.example.com', 'live', 's1'); // 'reconciled-3f…'
 */
export function syntheticTaskId(publishDomain: string, app: string, stream: string): string {
  return `reconciled-${createHash('sha256')
    .update(streamKey(publishDomain, app, stream))
    .digest('hex')
    .slice(0, 32)}`;
}

/** A listing time (`yyyy-mm-ddThh:mm:ssZ`) as a Date; null when absent or unreadable. */
export function listingTime(text: string | undefined): Date | null {
  if (typeof text !== 'string' || text === '') return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Why an item cannot be stored, or null when it can. */
function unusable(item: RecordContentItem): string | null {
  for (const field of ['publish_domain', 'app', 'stream', 'record_format'] as const) {
    if (typeof item[field] !== 'string' || item[field] === '') return `${field} missing`;
    if (item[field].length > MAX_ID) return `${field} longer than ${MAX_ID} characters`;
  }
  if (item.record_format.length > 8) return 'record_format longer than 8 characters';
  if (item.download_url !== undefined && (typeof item.download_url !== 'string' || item.download_url.length > MAX_URL))
    return `download_url not a string of at most ${MAX_URL} characters`;
  if (recoveryKeyOf(item) === null) return 'neither download_url nor obs_addr.object';
  return null;
}

/** Whether a stored file is the listed one: the same key or URL, or the same format and times. */
function isSameFile(f: StoredFileRef, item: RecordContentItem, key: string, tol: number): boolean {
  if (f.recoveryKey === key) return true;
  if (!sameFormat(f.recordFormat, item.record_format)) return false;
  if (f.downloadUrl && item.download_url && f.downloadUrl === item.download_url) return true;
  const start = listingTime(item.start_time);
  const end = listingTime(item.end_time);
  if (!start || !end || !f.startTime || !f.endTime) return false;
  return (
    Math.abs(f.startTime.getTime() - start.getTime()) <= tol && Math.abs(f.endTime.getTime() - end.getTime()) <= tol
  );
}

/** The stored task of the stream whose span covers the file, latest first; undefined when none does. */
function taskFor(tasks: KnownTask[], files: StoredFileRef[], start: Date | null, end: Date | null, tol: number) {
  if (!start) return undefined;
  const spans = tasks.map((t) => {
    const own = files.filter((f) => f.taskId === t.taskId);
    const from = Math.min(t.createdAt.getTime(), ...own.map((f) => f.startTime?.getTime() ?? Infinity));
    const open = t.status === 'RECORDING' && !t.stalledAt;
    const last = Math.max(t.lastEventAt?.getTime() ?? 0, ...own.map((f) => f.endTime?.getTime() ?? 0));
    return { t, from: from - tol, to: open ? Infinity : last + tol };
  });
  const s = start.getTime();
  const e = (end ?? start).getTime();
  return spans
    .filter((x) => x.from <= e && s <= x.to)
    .sort((a, b) => b.from - a.from || (a.t.taskId < b.t.taskId ? -1 : 1))[0]?.t;
}

/**
 * Compares one window's listing with the stored files and tasks of the listed streams (pure). A listed
 * file the database has (see the matching rule in README "Recovering missed callbacks") is matched;
 * one it lacks is to be recovered, into the stored task of its stream whose span covers it, else into
 * the stream's synthetic task. Repeated items (a listing that changed while it was paged) count once.
 *
 * @example
 * const plan = planReconciliation(items, files, tasks, { now, stallAfterMs, accepts: () => true });
 */
export function planReconciliation(
  items: RecordContentItem[],
  files: StoredFileRef[],
  tasks: KnownTask[],
  settings: PlanSettings,
): ReconcilePlan {
  const tol = settings.toleranceMs ?? 5000;
  const plan: ReconcilePlan = { listed: 0, matched: 0, recover: [], stalledTaskIds: [], errors: [] };
  const taskIds = new Map<string, KnownTask[]>();
  for (const t of tasks) {
    const k = streamKey(t.publishDomain, t.app, t.stream);
    taskIds.set(k, [...(taskIds.get(k) ?? []), t]);
  }
  const taskStream = new Map(tasks.map((t) => [t.taskId, streamKey(t.publishDomain, t.app, t.stream)]));
  const filesOf = new Map<string, StoredFileRef[]>();
  for (const f of files) {
    const k = taskStream.get(f.taskId);
    if (k) filesOf.set(k, [...(filesOf.get(k) ?? []), f]);
  }
  const seen = new Set<string>();
  const lastListedEnd = new Map<string, number>();
  for (const item of items) {
    const problem = unusable(item);
    if (problem) {
      plan.errors.push(
        `listed file ${JSON.stringify(item.file_name ?? item.download_url ?? '?').slice(0, 200)}: ${problem}`,
      );
      continue;
    }
    if (!settings.accepts(item.publish_domain)) continue;
    const key = recoveryKeyOf(item)!;
    if (seen.has(key)) continue;
    seen.add(key);
    plan.listed++;
    const k = streamKey(item.publish_domain, item.app, item.stream);
    const start = listingTime(item.start_time);
    const end = listingTime(item.end_time);
    if (end) lastListedEnd.set(k, Math.max(lastListedEnd.get(k) ?? 0, end.getTime()));
    const streamFiles = filesOf.get(k) ?? [];
    if (streamFiles.some((f) => isSameFile(f, item, key, tol))) {
      plan.matched++;
      continue;
    }
    const task = taskFor(taskIds.get(k) ?? [], streamFiles, start, end, tol);
    plan.recover.push({
      item,
      recoveryKey: key,
      jobId: `reconciled-${key.slice(0, 32)}`,
      recordFormat: item.record_format,
      startTime: start,
      endTime: end,
      taskId: task?.taskId ?? syntheticTaskId(item.publish_domain, item.app, item.stream),
      synthetic: !task,
    });
  }
  const stallBefore = settings.now.getTime() - settings.stallAfterMs;
  for (const [k, ts] of taskIds) {
    const last = lastListedEnd.get(k);
    for (const t of ts) {
      if (t.status !== 'RECORDING') continue;
      if (t.stalledAt || (last !== undefined && last < stallBefore)) plan.stalledTaskIds.push(t.taskId);
    }
  }
  return plan;
}
