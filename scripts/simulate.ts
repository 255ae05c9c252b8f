#!/usr/bin/env node
/**
 * Huawei Cloud Live recording-callback simulator: sends realistic, genuinely signed recording lifecycles to
 * a callback URL, as Huawei Live would, and summarises the answers. Run `simulate --help` for usage.
 *
 * Exit codes: 0 every answer was 200; 1 some answers were not; 2 usage error (bad URL, key, file, option).
 *
 * @example
 * npm run -s simulate -- --url http://127.0.0.1:3000/recording-callbacks --count 50 --shuffle --duplicate-rate 0.1
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  RecordFormat,
  RecordingEventType,
  buildRecordFailed,
  buildRecordFileComplete,
  buildRecordNewFileStart,
  buildRecordOver,
  buildRecordStart,
  buildRecordingLifecycle,
  signRecordingCallback,
} from '../src/recording-callback/testing';
import type { SignatureAlgorithm } from '../src/recording-callback/testing';

const USAGE = `Huawei Live recording-callback simulator

Usage:
  simulate [run] --url URL [options]      send recording lifecycles (tasks, files, formats, failures)
  simulate sign [options]                 print one signed callback body (for curl -d)
  simulate replay FILE --url URL [opts]   send saved callbacks, one JSON object per line

Signing (every command):
  --key KEY            callback key, 32+ letters and digits. Default: $RECORDING_CALLBACK_KEY, the first of
                       $RECORDING_CALLBACK_KEYS, or the host app's development key (data/dev-callback-key)
  --algorithm ALG      HMACSHA256 (default, or $RECORDING_CALLBACK_ALGORITHM) or MD5
  --expires SECONDS    auth_timestamp = send time + SECONDS (default 0); --expires=-3600 gives
                       expired signatures

run:
  --url URL            callback URL, e.g. http://127.0.0.1:3000/recording-callbacks (required)
  --count N            recording tasks (default 10)
  --files N            files per task (default 2)
  --formats LIST       record formats, comma-separated: HLS,FLV,MP4 (default HLS,MP4)
  --fail-rate R        share of tasks that end RECORD_FAILED instead of RECORD_OVER, 0..1 (default 0.1)
  --duplicate-rate R   share of callbacks sent twice, re-signed, as Huawei may retry, 0..1 (default 0)
  --shuffle            send every callback in random order (default: in order within each task)
  --concurrency N      requests in flight (default 8; without --shuffle, tasks in flight)
  --seed N             random seed, to repeat a run's shape (default random; printed in the summary)
  --run-id ID          task ids are sim-<ID>-<n> (default derived from the time)
  --domain NAME        publish_domain (default push.example.com)
  --app NAME           app (default live)
  --save FILE          also write every callback sent, as sent, to FILE (JSON lines) for replay
  --timeout MS         per-request timeout (default 10000)
  --json               print the summary as JSON
  --no-progress        no progress bar (it shows only on a terminal, for runs of 100+ callbacks)

sign:
  --event TYPE         RECORD_START, RECORD_NEW_FILE_START, RECORD_FILE_COMPLETE (default), RECORD_OVER,
                       RECORD_FAILED
  --task-id ID  --job-id ID  --format HLS|FLV|MP4  --domain NAME  --app NAME  --stream NAME
  --set FIELD=VALUE    set any field (repeatable; VALUE is parsed as JSON when it can be)
  --body JSON          sign this body instead of a built one

replay:
  --url URL, --concurrency N (default 1: in file order), --timeout MS, --json
  --as-is              send the lines unchanged (default: re-sign each with a fresh auth_timestamp)

Exit codes: 0 every answer was 200, 1 some were not, 2 bad usage (URL, key, file or option).
`;

/** A usage error: printed without a stack trace, exit code 2. */
class UsageError extends Error {}

const KEY_PATTERN = /^[A-Za-z0-9]{32,}$/;
const FORMATS = Object.values(RecordFormat) as string[];
const EVENT_TYPES = Object.values(RecordingEventType) as string[];

type Body = Record<string, unknown>;

interface Signing {
  key: string;
  algorithm: SignatureAlgorithm;
  expires: number;
}

// ---------------------------------------------------------------------------------------------------
// Option parsing

function integer(name: string, text: string | undefined, fallback: number, min: number, max = Infinity): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be a whole number${max < Infinity ? ` from ${min} to ${max}` : ` >= ${min}`}, got "${text}"`,
    );
  }
  return value;
}

function rate(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(`--${name} must be a number from 0 to 1, got "${text}"`);
  }
  return value;
}

function targetUrl(text: string | undefined): URL {
  if (!text) throw new UsageError('--url is required, e.g. --url http://127.0.0.1:3000/recording-callbacks');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url "${text}" is not a URL; write it like http://127.0.0.1:3000/recording-callbacks`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be http:// or https://, got "${url.protocol}"`);
  }
  return url;
}

/** The key from --key, the environment, or the host app's development key file. Never printed. */
function resolveKey(given: string | undefined): { key: string; source: string } {
  const fromEnv =
    process.env.RECORDING_CALLBACK_KEY || (process.env.RECORDING_CALLBACK_KEYS ?? '').split(',')[0]?.trim();
  let key = given;
  let source = '--key';
  if (key === undefined && fromEnv) [key, source] = [fromEnv, 'the environment'];
  if (key === undefined) {
    const sqlite = process.env.SQLITE_PATH || 'data/recordings.sqlite';
    const folder = dirname(sqlite) === '.' ? 'data' : dirname(sqlite);
    const file = join(folder, 'dev-callback-key');
    if (existsSync(file)) [key, source] = [readFileSync(file, 'utf8').trim(), file];
  }
  if (key === undefined || key === '') {
    throw new UsageError(
      'no callback key: pass --key KEY (the key your app configures in RecordingCallbackModule auth.keys) or set RECORDING_CALLBACK_KEY. ' +
        "(In this project's own host app, `npm start` once writes a development key to data/dev-callback-key, which is read when present.)",
    );
  }
  if (!KEY_PATTERN.test(key)) {
    // Say what is wrong without echoing the secret.
    throw new UsageError(
      `the key from ${source} is not valid: a callback key has at least 32 characters, letters and digits only (this one has ${key.length} characters${/[^A-Za-z0-9]/.test(key) ? ', some not letters or digits' : ''})`,
    );
  }
  return { key, source };
}

function signing(values: { key?: string; algorithm?: string; expires?: string }): Signing {
  const algorithm = (values.algorithm ?? process.env.RECORDING_CALLBACK_ALGORITHM ?? 'HMACSHA256').toUpperCase();
  if (algorithm !== 'HMACSHA256' && algorithm !== 'MD5') {
    throw new UsageError(`--algorithm must be HMACSHA256 or MD5, got "${algorithm}"`);
  }
  const expires = integer('expires', values.expires, 0, -1e9, 1e9);
  return { key: resolveKey(values.key).key, algorithm, expires };
}

function formats(text: string | undefined): RecordFormat[] {
  const list = (text ?? 'HLS,MP4').split(',').map((f) => f.trim().toUpperCase());
  const unknown = list.filter((f) => !FORMATS.includes(f));
  if (!list.length || unknown.length) {
    throw new UsageError(`--formats takes ${FORMATS.join(', ')} separated by commas, got "${text}"`);
  }
  return [...new Set(list)] as RecordFormat[];
}

// ---------------------------------------------------------------------------------------------------
// Randomness: seeded, so a run's shape can be repeated.

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

// ---------------------------------------------------------------------------------------------------
// Sending

interface Tally {
  sent: number;
  byStatus: Record<string, number>;
  byResult: Record<string, number>;
  /** A few distinct non-200 answers, to show what went wrong. */
  samples: string[];
}

class Sender {
  readonly tally: Tally = { sent: 0, byStatus: {}, byResult: {}, samples: [] };
  private readonly saved: string[] = [];

  constructor(
    private readonly url: URL,
    private readonly sign: Signing | undefined,
    private readonly timeoutMs: number,
    private readonly progress: Progress,
    private readonly save: boolean,
  ) {}

  /** POSTs one callback (signed now, unless sending as-is) and counts the answer. */
  async send(body: Body): Promise<number | string> {
    const signed = this.sign
      ? signRecordingCallback(body, {
          key: this.sign.key,
          algorithm: this.sign.algorithm,
          expiresInSeconds: this.sign.expires,
        })
      : body;
    const text = JSON.stringify(signed);
    if (this.save) this.saved.push(text);
    let status: number | string;
    let answer = '';
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.status;
      answer = await res.text();
    } catch (error) {
      status = networkError(error);
    }
    this.count(status, answer);
    return status;
  }

  savedLines(): string[] {
    return this.saved;
  }

  private count(status: number | string, answer: string): void {
    const t = this.tally;
    t.sent++;
    t.byStatus[status] = (t.byStatus[status] ?? 0) + 1;
    if (status === 200) {
      let result = 'other';
      try {
        result = String((JSON.parse(answer) as { result?: unknown }).result ?? 'other');
      } catch {
        // not JSON: counted as "other"
      }
      t.byResult[result] = (t.byResult[result] ?? 0) + 1;
    } else if (t.samples.length < 5) {
      const sample = `${status}: ${answer.slice(0, 200)}`.trim();
      if (!t.samples.includes(sample)) t.samples.push(sample);
    }
    this.progress.tick(t.sent);
  }
}

function networkError(error: unknown): string {
  const e = error as { name?: string; cause?: { code?: string }; code?: string };
  if (e?.name === 'TimeoutError') return 'timeout';
  return e?.cause?.code ?? e?.code ?? 'network error';
}

/**
 * Sends the first callback alone, so that a wrong URL stops the run at once with a clear message
 * (exit code 2) instead of failing every request.
 */
async function preflight(sender: Sender, url: URL, body: Body): Promise<void> {
  const status = await sender.send(body);
  if (typeof status === 'string') {
    throw new UsageError(`cannot reach ${url.href}: ${status}. Is the app running, and is --url right?`);
  }
  if (status === 404 || status === 405) {
    throw new UsageError(
      `${url.href} answered ${status}: no callback route there. The module's default path is /recording-callbacks`,
    );
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------------
// Progress bar: plain text on stderr, only on a terminal.

class Progress {
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  tick(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.total && now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    const perSecond = Math.round(done / Math.max((now - this.started) / 1000, 0.001));
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${Math.floor((done / this.total) * 100)}% ${perSecond}/s `,
    );
  }

  end(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }
}

// ---------------------------------------------------------------------------------------------------
// Summary

function summarise(tally: Tally, extra: Record<string, unknown>, startedAt: number, json: boolean): number {
  const durationMs = Date.now() - startedAt;
  const ok = tally.sent > 0 && tally.byStatus['200'] === tally.sent;
  if (json) {
    process.stdout.write(JSON.stringify({ ...extra, ...tally, durationMs, ok }, null, 2) + '\n');
    return ok ? 0 : 1;
  }
  const rate = Math.round(tally.sent / Math.max(durationMs / 1000, 0.001));
  const lines = [`Sent ${tally.sent} callbacks in ${(durationMs / 1000).toFixed(2)} s (${rate}/s)`];
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined && typeof value !== 'object') lines.push(`  ${key}: ${value}`);
  }
  lines.push('Answers by status code:');
  for (const [status, n] of Object.entries(tally.byStatus).sort()) {
    const detail =
      status === '200'
        ? ` (${Object.entries(tally.byResult)
            .map(([r, c]) => `${r} ${c}`)
            .join(', ')})`
        : '';
    lines.push(`  ${status.padEnd(13)} ${String(n).padStart(7)}${detail}`);
  }
  if (tally.samples.length) lines.push('Examples of other answers:', ...tally.samples.map((s) => `  ${s}`));
  process.stdout.write(lines.join('\n') + '\n');
  return ok ? 0 : 1;
}

function writeSaved(file: string | undefined, sender: Sender): void {
  if (!file) return;
  try {
    writeFileSync(file, sender.savedLines().join('\n') + '\n');
  } catch (error) {
    throw new UsageError(`cannot write --save file ${file}: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Commands

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      algorithm: { type: 'string' },
      expires: { type: 'string' },
      count: { type: 'string' },
      files: { type: 'string' },
      formats: { type: 'string' },
      'fail-rate': { type: 'string' },
      'duplicate-rate': { type: 'string' },
      shuffle: { type: 'boolean' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      'run-id': { type: 'string' },
      domain: { type: 'string' },
      app: { type: 'string' },
      save: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
  });
  const url = targetUrl(values.url);
  const signWith = signing(values);
  const count = integer('count', values.count, 10, 1, 1_000_000);
  const files = integer('files', values.files, 2, 1, 1000);
  const recordFormats = formats(values.formats);
  const failRate = rate('fail-rate', values['fail-rate'], 0.1);
  const duplicateRate = rate('duplicate-rate', values['duplicate-rate'], 0);
  const concurrency = integer('concurrency', values.concurrency, 8, 1, 1000);
  const seed = integer('seed', values.seed, Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1);
  const timeoutMs = integer('timeout', values.timeout, 10_000, 1);
  const runId = values['run-id'] ?? Date.now().toString(36);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(runId)) throw new UsageError('--run-id takes letters, digits, "-" and "_" only');
  const random = mulberry32(seed);

  // Each task is one lifecycle; duplicates are re-sends of a callback later in the same task.
  const outcomes = { over: 0, failed: 0 };
  let duplicates = 0;
  const tasks: Body[][] = [];
  for (let n = 1; n <= count; n++) {
    const outcome = random() < failRate ? 'failed' : 'over';
    outcomes[outcome]++;
    const events = buildRecordingLifecycle({
      taskId: `sim-${runId}-${n}`,
      files,
      formats: recordFormats,
      outcome,
      common: { publish_domain: values.domain ?? 'push.example.com', app: values.app ?? 'live', stream: `stream-${n}` },
      jobId: () => uuid(random),
    }) as Body[];
    const stream: Body[] = [...events];
    for (const event of events) {
      if (random() < duplicateRate) {
        duplicates++;
        const after = stream.indexOf(event) + 1;
        stream.splice(after + Math.floor(random() * (stream.length - after + 1)), 0, event);
      }
    }
    tasks.push(stream);
  }
  const total = tasks.reduce((sum, t) => sum + t.length, 0);
  const progress = new Progress(total, !values['no-progress'] && !!process.stderr.isTTY && total >= 100);
  const sender = new Sender(url, signWith, timeoutMs, progress, !!values.save);
  const startedAt = Date.now();

  if (values.shuffle) {
    const all = shuffle(tasks.flat(), random);
    await preflight(sender, url, all[0]);
    await pool(all.slice(1), concurrency, async (body) => void (await sender.send(body)));
  } else {
    const first = tasks[0].shift()!;
    await preflight(sender, url, first);
    await pool(tasks, concurrency, async (events) => {
      for (const body of events) await sender.send(body);
    });
  }
  progress.end();
  writeSaved(values.save, sender);
  return summarise(
    sender.tally,
    {
      url: url.href,
      seed,
      runId,
      tasks: count,
      tasksOver: outcomes.over,
      tasksFailed: outcomes.failed,
      callbacks: total - duplicates,
      duplicatesSent: duplicates,
      order: values.shuffle ? 'shuffled' : 'in order per task',
      algorithm: signWith.algorithm,
    },
    startedAt,
    !!values.json,
  );
}

function signCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: 'string' },
      algorithm: { type: 'string' },
      expires: { type: 'string' },
      event: { type: 'string' },
      'task-id': { type: 'string' },
      'job-id': { type: 'string' },
      format: { type: 'string' },
      domain: { type: 'string' },
      app: { type: 'string' },
      stream: { type: 'string' },
      set: { type: 'string', multiple: true },
      body: { type: 'string' },
    },
  });
  const how = signing(values);
  let body: Body;
  if (values.body !== undefined) {
    try {
      body = JSON.parse(values.body) as Body;
    } catch {
      throw new UsageError('--body must be a JSON object');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new UsageError('--body must be a JSON object');
  } else {
    const event = (values.event ?? RecordingEventType.FileComplete).toUpperCase();
    if (!EVENT_TYPES.includes(event))
      throw new UsageError(`--event must be one of ${EVENT_TYPES.join(', ')}, got "${event}"`);
    const format = values.format?.toUpperCase();
    if (format !== undefined && !FORMATS.includes(format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${values.format}"`);
    }
    const overrides: Body = {};
    if (values['task-id']) overrides.task_id = values['task-id'];
    if (values['job-id']) overrides.job_id = values['job-id'];
    if (format) overrides.record_format = format;
    if (values.domain) overrides.publish_domain = values.domain;
    if (values.app) overrides.app = values.app;
    if (values.stream) overrides.stream = values.stream;
    const builders: Record<string, (o: Body) => Body> = {
      [RecordingEventType.Start]: (o) => buildRecordStart(o),
      [RecordingEventType.NewFileStart]: (o) => buildRecordNewFileStart(o),
      [RecordingEventType.FileComplete]: (o) => buildRecordFileComplete(o),
      [RecordingEventType.Over]: (o) => buildRecordOver(o),
      [RecordingEventType.Failed]: (o) => buildRecordFailed(o),
    };
    body = builders[event](overrides);
  }
  for (const assignment of values.set ?? []) {
    const eq = assignment.indexOf('=');
    if (eq < 1) throw new UsageError(`--set takes FIELD=VALUE, got "${assignment}"`);
    const text = assignment.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // a plain string
    }
    body[assignment.slice(0, eq)] = value;
  }
  const signed = signRecordingCallback(body, { key: how.key, algorithm: how.algorithm, expiresInSeconds: how.expires });
  process.stdout.write(JSON.stringify(signed) + '\n');
  return 0;
}

function readJsonLines(file: string): Body[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const bodies: Body[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new UsageError(`${file}:${i + 1}: not valid JSON (expected one callback object per line)`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError(`${file}:${i + 1}: expected a JSON object, one callback per line`);
    }
    bodies.push(value as Body);
  });
  if (!bodies.length) throw new UsageError(`${file} holds no callbacks (one JSON object per line)`);
  return bodies;
}

async function replay(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      algorithm: { type: 'string' },
      expires: { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      'as-is': { type: 'boolean' },
      json: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('replay takes one FILE of saved callbacks (JSON lines)');
  const url = targetUrl(values.url);
  const file = positionals[0];
  const how = values['as-is'] ? undefined : signing(values);
  const concurrency = integer('concurrency', values.concurrency, 1, 1, 1000);
  const timeoutMs = integer('timeout', values.timeout, 10_000, 1);
  const bodies = readJsonLines(file);
  const progress = new Progress(
    bodies.length,
    !values['no-progress'] && !!process.stderr.isTTY && bodies.length >= 100,
  );
  const sender = new Sender(url, how, timeoutMs, progress, false);
  const startedAt = Date.now();
  await preflight(sender, url, bodies[0]);
  await pool(bodies.slice(1), concurrency, async (body) => void (await sender.send(body)));
  progress.end();
  return summarise(
    sender.tally,
    { url: url.href, file, signatures: how ? `re-signed (${how.algorithm})` : 'as saved' },
    startedAt,
    !!values.json,
  );
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [command, ...rest] = argv;
  if (command === 'sign') return signCommand(rest);
  if (command === 'replay') return replay(rest);
  if (command === 'run') return run(rest);
  if (command === undefined || command.startsWith('-')) return run(argv);
  throw new UsageError(`unknown command "${command}"; use run, sign or replay (see --help)`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage) process.stderr.write('Run with --help for usage.\n');
    process.exitCode = usage ? 2 : 1;
  },
);
