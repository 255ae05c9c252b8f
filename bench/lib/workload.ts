import { createHmac } from 'node:crypto';

/** The callback key every bench server is configured with (44 letters and digits). */
export const BENCH_KEY = 'BenchKey0123456789abcdefghijklmnopqrstuvWXYZ';

/**
 * `auth_timestamp` of every generated callback: 12 hours after the bench started, so signatures stay valid
 * through the longest run (both servers accept while `now <= auth_timestamp + tolerance`), and within the
 * module's default `maxFutureSeconds` (one day), which refuses a timestamp further ahead.
 */
export const SIGNED_UNTIL = Math.floor(Date.now() / 1000) + 12 * 3600;

const DOMAINS = ['push.example.com', 'push.live-a.example.net', 'push.edu.example.org'];
const APPS = ['live', 'edu', 'game'];

/** Deterministic PRNG (mulberry32), so every run sends the same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Body = Record<string, string | number>;

/**
 * Signs a body as Huawei Live does in HMACSHA256 mode: HMAC-SHA256(key, auth_timestamp + event_type +
 * publish_domain + app + stream + download_url + play_url), absent fields as empty strings, lowercase hex.
 */
export function signBody(body: Body, key = BENCH_KEY): Body {
  const text = (v: unknown) => (v === undefined ? '' : String(v));
  const input =
    text(body.auth_timestamp) +
    text(body.event_type) +
    text(body.publish_domain) +
    text(body.app) +
    text(body.stream) +
    text(body.download_url) +
    text(body.play_url);
  return { ...body, auth_sign: createHmac('sha256', key).update(input, 'utf8').digest('hex') };
}

interface LiveTask {
  events: Body[];
  next: number;
}

/** What a generator has produced so far. */
export interface WorkloadStats {
  callbacks: number;
  duplicates: number;
  tasks: number;
  byEventType: Record<string, number>;
}

/**
 * An endless, deterministic stream of validly signed callbacks with a realistic lifecycle: each task sends
 * RECORD_START, then 1–3 files (RECORD_NEW_FILE_START + RECORD_FILE_COMPLETE each, HLS), then RECORD_OVER.
 * `window` tasks record at once and their events interleave at random, so consecutive requests almost
 * never touch the same task; about `duplicateRate` of the requests re-send a recent callback with a new
 * `auth_timestamp` (and so a new signature): same content, hence a duplicate for both servers.
 *
 * @example
 * const gen = new CallbackWorkload({ seed: 1 }); const body: Buffer = gen.next();
 */
export class CallbackWorkload {
  readonly stats: WorkloadStats = { callbacks: 0, duplicates: 0, tasks: 0, byEventType: {} };
  private readonly random: () => number;
  private readonly live: LiveTask[] = [];
  private readonly recent: Body[] = [];
  private recentAt = 0;
  private readonly window: number;
  private readonly duplicateRate: number;
  private readonly prefix: string;
  private readonly baseTime: number;

  constructor(opts: { seed?: number; window?: number; duplicateRate?: number; prefix?: string } = {}) {
    this.random = prng(opts.seed ?? 1);
    this.window = opts.window ?? 512;
    this.duplicateRate = opts.duplicateRate ?? 0.1;
    this.prefix = opts.prefix ?? 'bench';
    this.baseTime = Date.UTC(2025, 10, 1);
    for (let i = 0; i < this.window; i++) this.live.push(this.newTask());
  }

  /** The next request body, as JSON bytes. */
  next(): Buffer {
    return Buffer.from(JSON.stringify(this.nextBody()));
  }

  /** The next request body, as an object. */
  nextBody(): Body {
    this.stats.callbacks++;
    if (this.recent.length > 64 && this.random() < this.duplicateRate) {
      const original = this.recent[Math.floor(this.random() * this.recent.length)];
      this.stats.duplicates++;
      const { auth_sign: _old, ...content } = original;
      // A re-send: same content, later timestamp, so a different signature.
      return signBody({ ...content, auth_timestamp: SIGNED_UNTIL + 1 + Math.floor(this.random() * 1000) });
    }
    const slot = Math.floor(this.random() * this.live.length);
    const task = this.live[slot];
    const body = signBody({ ...task.events[task.next++], auth_timestamp: SIGNED_UNTIL });
    if (task.next >= task.events.length) this.live[slot] = this.newTask();
    const type = String(body.event_type);
    this.stats.byEventType[type] = (this.stats.byEventType[type] ?? 0) + 1;
    if (this.recent.length < 4096) this.recent.push(body);
    else this.recent[this.recentAt++ % 4096] = body;
    return body;
  }

  private newTask(): LiveTask {
    const n = this.stats.tasks++;
    const r = this.random;
    const taskId = `${this.prefix}-${n.toString(36).padStart(6, '0')}-${Math.floor(r() * 2 ** 32).toString(16)}`;
    const publish_domain = DOMAINS[Math.floor(r() * DOMAINS.length)];
    const app = APPS[Math.floor(r() * APPS.length)];
    // Streams reconnect: about four tasks per stream name.
    const stream = `stream-${Math.floor(r() * Math.max(1, n / 4 + 50))}`;
    const common = {
      project_id: 'proj-bench-0001',
      task_id: taskId,
      publish_domain,
      app,
      stream,
      record_format: 'HLS',
    };
    const events: Body[] = [{ ...common, event_type: 'RECORD_START' }];
    const files = 1 + Math.floor(r() * 3);
    let t = this.baseTime + n * 1000;
    for (let f = 0; f < files; f++) {
      const job_id = `${taskId}-job-${f}`;
      const start = new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
      t += 120_000;
      const end = new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
      events.push({ ...common, event_type: 'RECORD_NEW_FILE_START', job_id });
      events.push({
        ...common,
        event_type: 'RECORD_FILE_COMPLETE',
        job_id,
        download_url: `https://obs.cn-north-4.myhuaweicloud.com/live/${taskId}/${publish_domain}-${app}-${stream}-${f}.m3u8`,
        asset_id: createHmac('md5', 'a').update(job_id).digest('hex'),
        file_size: 1_000_000 + Math.floor(r() * 9_000_000),
        record_duration: 120,
        start_time: start,
        end_time: end,
        width: 1280,
        height: 720,
      });
    }
    events.push({ ...common, event_type: 'RECORD_OVER' });
    return { events, next: 0 };
  }
}

/**
 * Request bodies for one load run: `count` pre-generated in memory (so generating them costs the load
 * generator nothing during the run), then, if a run outlasts them, more generated on the fly from a second
 * deterministic stream of new tasks (counted in `overflow`). `reset()` replays the same sequence.
 */
export class BodyFeed {
  private readonly bodies: Buffer[] = [];
  private cursor = 0;
  private extra?: CallbackWorkload;
  overflow = 0;
  readonly stats: WorkloadStats;

  constructor(count: number, seed = 1) {
    const gen = new CallbackWorkload({ seed });
    for (let i = 0; i < count; i++) this.bodies.push(gen.next());
    this.stats = gen.stats;
  }

  get size(): number {
    return this.bodies.length;
  }

  /** Bodies handed out since the last reset. */
  get used(): number {
    return this.cursor;
  }

  reset(): void {
    this.cursor = 0;
    this.overflow = 0;
    this.extra = undefined;
  }

  next(): Buffer {
    if (this.cursor < this.bodies.length) return this.bodies[this.cursor++];
    this.cursor++;
    this.overflow++;
    this.extra ??= new CallbackWorkload({ seed: 99, prefix: 'overflow' });
    return this.extra.next();
  }
}
