import { Agent, request } from 'node:http';
import type { FileState, TaskState, TaskTransition } from '../../src/recording-callback';
import { sign } from './callbacks';

type Body = Record<string, unknown>;

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same storm on every run and machine.
 *
 * @example
 * const rng = new Rng(42); rng.int(1, 6);
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** One distinct callback (its content, unsigned), in the order its task's lifecycle produced it. */
export interface StormCallback {
  /** Position in the lifecycle of its task (generation order). */
  seq: number;
  taskId: string;
  body: Body;
  /**
   * The test's own identity of this callback, `taskId#seq`: every copy of it in a storm shares it, since
   * the test made the copies (the module's dedupe key is not used to judge the module).
   */
  key: string;
}

/**
 * The distinct callbacks of one task, numbered in lifecycle order.
 *
 * @example
 * const callbacks = stormCallbacks('t1', taskLifecycle(rng, 't1', 0));
 */
export function stormCallbacks(taskId: string, bodies: Body[]): StormCallback[] {
  return bodies.map((body, seq) => ({ seq, taskId, body, key: `${taskId}#${seq}` }));
}

/** One HTTP request of the storm: a copy of a distinct callback, signed with its own auth_timestamp. */
export interface StormSend {
  callback: StormCallback;
  copy: number;
  instance: number;
  signed: Body;
}

const FORMATS = ['HLS', 'FLV', 'MP4'] as const;
const BASE_TIME = Date.parse('2026-01-10T08:00:00Z');

/** Huawei's time format, `yyyy-mm-ddThh:mm:ssZ`. */
function huaweiTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Distinct callbacks of one realistic task lifecycle: RECORD_START, then for several job_ids one
 * NEW_FILE_START and one FILE_COMPLETE per configured format (1-3 formats), then RECORD_OVER,
 * RECORD_FAILED, both, or nothing (still recording). A failed task may leave its last file unfinished.
 */
export function taskLifecycle(rng: Rng, taskId: string, index: number): Body[] {
  const formats = rng.shuffle([...FORMATS]).slice(0, rng.int(1, 3));
  const common: Body = {
    project_id: `proj-${index % 7}`,
    task_id: taskId,
    publish_domain: 'push.example.com',
    app: rng.pick(['live', 'studio']),
    stream: `stream-${taskId}`,
  };
  const events: Body[] = [{ ...common, event_type: 'RECORD_START', record_format: formats[0] }];
  const jobs = rng.int(4, 10);
  const ending = rng.next();
  const failed = ending >= 0.6 && ending < 0.85;
  let clock = BASE_TIME + index * 3_600_000;
  for (let j = 0; j < jobs; j++) {
    const jobId = `${taskId}-job${j}-${rng.int(0, 0xffffff).toString(16)}`;
    const seconds = rng.int(30, 600);
    for (const format of formats) {
      events.push({ ...common, event_type: 'RECORD_NEW_FILE_START', job_id: jobId, record_format: format });
      const unfinished = j === jobs - 1 && failed && rng.chance(0.5);
      if (unfinished) continue;
      const complete: Body = {
        ...common,
        event_type: 'RECORD_FILE_COMPLETE',
        job_id: jobId,
        record_format: format,
        download_url: `https://obs.example.com/${taskId}/${jobId}.${format.toLowerCase()}`,
        asset_id: `asset-${jobId}-${format}`,
        // Up to 6 GB: beyond 2^31, so a 32-bit column would fail.
        file_size: rng.int(100_000, 6_000_000_000),
        record_duration: seconds,
        start_time: huaweiTime(clock),
        end_time: huaweiTime(clock + seconds * 1000),
        width: rng.pick([640, 1280, 1920]),
        height: rng.pick([360, 720, 1080]),
      };
      if (rng.chance(0.2))
        Object.assign(complete, { obs_location: 'cn-north-4', obs_bucket: 'rec-bucket', obs_object: `rec/${jobId}` });
      // Huawei adds fields over time: unknown ones are kept in the stored payload and count for identity.
      if (rng.chance(0.05)) complete.vendor_extra = { region: 'cn-north-4', tags: ['a', rng.int(0, 9)] };
      events.push(complete);
    }
    clock += seconds * 1000;
  }
  const message = `upload of ${taskId} to OBS failed (${rng.int(1, 999)})`;
  if (ending < 0.6) events.push({ ...common, event_type: 'RECORD_OVER' });
  else if (ending < 0.75) events.push({ ...common, event_type: 'RECORD_FAILED', error_message: message });
  else if (ending < 0.85) {
    events.push({ ...common, event_type: 'RECORD_FAILED', error_message: message });
    events.push({ ...common, event_type: 'RECORD_OVER' });
  }
  return events;
}

/**
 * A seeded storm: `tasks` lifecycles, then duplicates (same content, re-signed with another
 * auth_timestamp) making up `duplicateShare` of all requests, shuffled, each aimed at a random instance.
 *
 * @example
 * const storm = buildStorm({ seed: 7, tasks: 50, duplicateShare: 0.3, instances: 3, prefix: 'pg' });
 */
export function buildStorm(opts: {
  seed: number;
  tasks: number;
  duplicateShare: number;
  instances: number;
  prefix: string;
}): { distinct: StormCallback[]; sends: StormSend[]; byTask: Map<string, StormCallback[]> } {
  const rng = new Rng(opts.seed);
  const distinct: StormCallback[] = [];
  const byTask = new Map<string, StormCallback[]>();
  for (let t = 0; t < opts.tasks; t++) {
    const taskId = `${opts.prefix}-task-${String(t).padStart(3, '0')}`;
    const callbacks = stormCallbacks(taskId, taskLifecycle(rng, taskId, t));
    byTask.set(taskId, callbacks);
    distinct.push(...callbacks);
  }
  const duplicates = Math.ceil((distinct.length * opts.duplicateShare) / (1 - opts.duplicateShare));
  const copies = distinct.map(() => 1);
  const plan: Array<{ callback: StormCallback; copy: number }> = distinct.map((callback) => ({ callback, copy: 0 }));
  for (let d = 0; d < duplicates; d++) {
    const i = rng.int(0, distinct.length - 1);
    plan.push({ callback: distinct[i], copy: copies[i]++ });
  }
  rng.shuffle(plan);
  const now = Math.floor(Date.now() / 1000);
  const sends = plan.map(({ callback, copy }) => ({
    callback,
    copy,
    instance: rng.int(0, opts.instances - 1),
    // Every copy of a callback carries a different auth_timestamp (and so a different auth_sign).
    signed: sign(callback.body, { timestamp: now - copy * 10 - rng.int(0, 9) }),
  }));
  return { distinct, sends, byTask };
}

/** What one HTTP request got back. */
export interface Answer {
  status: number;
  body: { result?: string; callbackId?: number; [k: string]: unknown } | null;
  ms: number;
  startedAt: number;
  endedAt: number;
  /** Set when no HTTP answer arrived at all (connection refused, reset, timeout). */
  error?: string;
}

/**
 * Keep-alive connections, as a load balancer in front of the instances would hold them. Idle sockets are
 * closed by the client after 2 s, before the server's 5 s keep-alive timeout: otherwise a request can be
 * written to a socket at the moment the server closes it (ECONNRESET), a client-side race that says nothing
 * about the app. Node's agent never expires idle sockets itself unless `timeout` is set.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 2000 });

/** One HTTP request over the keep-alive agent; resolves with the status and the body text. */
function httpRequest(
  url: string,
  method: 'GET' | 'POST',
  body: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (body !== undefined)
      Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const req = request(url, { method, agent, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * POSTs one callback with real HTTP, measuring how long the answer took. A missing answer (refused,
 * reset, timed out) is returned as status 0 with `error`, never thrown.
 *
 * @example
 * const answer = await postCallback('http://127.0.0.1:4000', signedBody);
 */
export async function postCallback(baseUrl: string, body: Body, timeoutMs = 30_000): Promise<Answer> {
  const startedAt = Date.now();
  try {
    const res = await httpRequest(`${baseUrl}/recording-callbacks`, 'POST', JSON.stringify(body), timeoutMs);
    let parsed: Answer['body'];
    try {
      parsed = JSON.parse(res.text);
    } catch {
      parsed = { raw: res.text };
    }
    const endedAt = Date.now();
    return { status: res.status, body: parsed, ms: endedAt - startedAt, startedAt, endedAt };
  } catch (error) {
    const endedAt = Date.now();
    const e = error as Error & { code?: string };
    return {
      status: 0,
      body: null,
      ms: endedAt - startedAt,
      startedAt,
      endedAt,
      error: `${e.message} ${e.code ?? ''}`.trim(),
    };
  }
}

/** GET a JSON resource. */
export async function getJson<T>(baseUrl: string, path: string): Promise<{ status: number; body: T }> {
  const res = await httpRequest(`${baseUrl}${path}`, 'GET', undefined, 30_000);
  return { status: res.status, body: JSON.parse(res.text) as T };
}

/**
 * Runs `work` over `items` with at most `concurrency` calls in flight.
 *
 * @example
 * await inParallel(sends, 32, async (send) => answers.push(await postCallback(url, send.signed)));
 */
export async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** The listening base URL of an app started with `listen(0, '127.0.0.1')`. */
export function baseUrlOf(server: { address(): unknown }): string {
  const address = server.address() as { port: number } | null;
  if (!address) throw new Error('server is not listening');
  return `http://127.0.0.1:${address.port}`;
}

/** A file as GET /recording-tasks/:id shows it, computed from reducer state. */
export function fileView(f: FileState): Record<string, unknown> & { jobId: string; recordFormat: string } {
  return {
    jobId: f.jobId,
    recordFormat: f.recordFormat,
    status: f.status,
    downloadUrl: f.downloadUrl,
    assetId: f.assetId,
    fileSize: f.fileSize,
    recordDuration: f.recordDuration,
    startTime: f.startTime ? f.startTime.toISOString() : null,
    endTime: f.endTime ? f.endTime.toISOString() : null,
    width: f.width,
    height: f.height,
  };
}

/** Files sorted by (jobId, recordFormat), so views can be compared regardless of row order. */
export function sortFiles<T extends { jobId: unknown; recordFormat: unknown }>(files: T[]): T[] {
  return [...files].sort((a, b) => `${a.jobId}/${a.recordFormat}`.localeCompare(`${b.jobId}/${b.recordFormat}`));
}

/** Reduced task, files and transitions of a sequence of events applied in the given order. */
export interface Reduced {
  task: TaskState | undefined;
  files: FileState[];
  transitions: Array<TaskTransition & { index: number }>;
}

/** The least status each event type implies (the contract's table), and the order statuses rise in. */
const IMPLIED: Record<string, TaskState['status']> = {
  RECORD_START: 'RECORDING' as TaskState['status'],
  RECORD_NEW_FILE_START: 'RECORDING' as TaskState['status'],
  RECORD_FILE_COMPLETE: 'RECORDING' as TaskState['status'],
  RECORD_OVER: 'OVER' as TaskState['status'],
  RECORD_FAILED: 'FAILED' as TaskState['status'],
};
const RANK: Record<string, number> = { RECORDING: 0, OVER: 1, FAILED: 2 };

/**
 * What the design says the task, its files and its transitions must be after these events in this order,
 * written here from the contract (status a join over RECORDING < OVER < FAILED that never moves down,
 * one transition per change, first failure's message, first-seen identity, first project and format
 * given, latest event by receive time;
 * a file RECORDING until its RECORD_FILE_COMPLETE fills the details, which a later start never erases),
 * not with the module's reducer: a reducer bug then shows up as a difference.
 *
 * @example
 * const { task, files } = reduceAll(events.map((body) => ({ body, receivedAt: new Date() })));
 */
export function reduceAll(events: Array<{ body: Body; receivedAt: Date }>): Reduced {
  let task: TaskState | undefined;
  const files = new Map<string, FileState>();
  const transitions: Reduced['transitions'] = [];
  const text = (v: unknown) => (v === undefined ? null : (v as string));
  const num = (v: unknown) => (v === undefined ? null : (v as number));
  events.forEach(({ body, receivedAt }, index) => {
    const type = String(body.event_type);
    const from = task?.status ?? null;
    const implied = IMPLIED[type];
    const to = from === null || RANK[implied] > RANK[from] ? implied : from;
    const latest = !task || receivedAt.getTime() >= task.lastEventAt.getTime();
    const fileEvent = type === 'RECORD_NEW_FILE_START' || type === 'RECORD_FILE_COMPLETE';
    task = {
      taskId: String(body.task_id),
      // Project and format: the first callback that carries one (a RECORD_OVER may come first without).
      projectId: task?.projectId ?? text(body.project_id),
      publishDomain: task ? task.publishDomain : String(body.publish_domain),
      app: task ? task.app : String(body.app),
      stream: task ? task.stream : String(body.stream),
      recordFormat: task?.recordFormat ?? text(body.record_format),
      status: to,
      errorMessage: task?.errorMessage ?? (type === 'RECORD_FAILED' ? text(body.error_message) : null),
      lastEventType: (latest ? type : task!.lastEventType) as TaskState['lastEventType'],
      lastEventAt: latest ? receivedAt : task!.lastEventAt,
    };
    if (to !== from) {
      transitions.push({
        fromStatus: from,
        toStatus: to,
        eventType: type as TaskTransition['eventType'],
        jobId: fileEvent ? String(body.job_id) : null,
        index,
      });
    }
    if (!fileEvent) return;
    const key = `${body.job_id}/${body.record_format}`;
    const jobId = String(body.job_id);
    const recordFormat = String(body.record_format);
    if (type === 'RECORD_NEW_FILE_START') {
      if (!files.has(key)) {
        files.set(key, {
          jobId,
          recordFormat,
          status: 'RECORDING' as FileState['status'],
          downloadUrl: null,
          assetId: null,
          fileSize: num(body.file_size),
          recordDuration: num(body.record_duration),
          startTime: null,
          endTime: null,
          width: null,
          height: null,
        });
      }
      return;
    }
    const time = (v: unknown) => (v === undefined ? null : new Date(v as string));
    files.set(key, {
      jobId,
      recordFormat,
      status: 'COMPLETE' as FileState['status'],
      downloadUrl: String(body.download_url),
      assetId: text(body.asset_id),
      fileSize: num(body.file_size),
      recordDuration: num(body.record_duration),
      startTime: time(body.start_time),
      endTime: time(body.end_time),
      width: num(body.width),
      height: num(body.height),
    });
  });
  return { task, files: [...files.values()], transitions };
}
