/**
 * Baseline for the benchmark: a minimal hand-written Express 5 receiver of Huawei Live recording callbacks
 * that does the same work per callback as the module, with the same database drivers and no framework or
 * ORM in between:
 *
 *   HMAC-SHA256 signature check (constant time) and timestamp window → 401
 *   validation of the required fields per event type → 400
 *   ONE transaction: create-if-missing + read (lock, on PostgreSQL) the task, dedupe by content hash,
 *   store the callback, update the task status (join RECORDING < OVER < FAILED), upsert the file,
 *   insert a transition row when the status changed → commit → 200 {"result":"accepted"|"duplicate"}
 *
 * It does not write a delivery row or call handlers after commit, and it logs nothing per request.
 *
 * Environment: PORT, DATABASE_URL (postgres://… → pg) or SQLITE_PATH (better-sqlite3, WAL),
 * RECORDING_CALLBACK_KEYS (comma-separated), DATABASE_POOL_SIZE (10).
 */
import Database from 'better-sqlite3';
import express, { NextFunction, Request, Response } from 'express';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Pool } from 'pg';
import { schemaStatements } from './schema';

const TOLERANCE_SECONDS = 300;
const EVENT_STATUS: Record<string, number> = {
  RECORD_START: 1,
  RECORD_NEW_FILE_START: 1,
  RECORD_FILE_COMPLETE: 1,
  RECORD_OVER: 2,
  RECORD_FAILED: 3,
};
const STATUS_NAME = ['', 'RECORDING', 'OVER', 'FAILED'];
const STATUS_RANK: Record<string, number> = { RECORDING: 1, OVER: 2, FAILED: 3 };
const FORMATS = new Set(['HLS', 'FLV', 'MP4']);
const HUAWEI_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const HEX64 = /^[0-9a-f]{64}$/i;

type Body = Record<string, unknown>;

interface Callback {
  body: Body;
  taskId: string;
  eventType: string;
  jobId: string | null;
  format: string | null;
  dedupeKey: string;
  payload: string;
  file: FileRow | null;
}

interface FileRow {
  status: 'RECORDING' | 'COMPLETE';
  downloadUrl: string | null;
  assetId: string | null;
  fileSize: number | null;
  recordDuration: number | null;
  startTime: string | null;
  endTime: string | null;
  width: number | null;
  height: number | null;
}

type Answer = { result: 'accepted' | 'duplicate'; callbackId: number };

const keys = (process.env.RECORDING_CALLBACK_KEYS ?? '')
  .split(',')
  .map((k) => k.trim())
  .filter(Boolean);
if (!keys.length) throw new Error('RECORDING_CALLBACK_KEYS is required');

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Body,
  ) {
    super(String(body.message));
  }
}

// ---------------------------------------------------------------------------------------------- checks

function verifySignature(body: Body): void {
  const sign = body.auth_sign;
  const timestamp = body.auth_timestamp;
  if (typeof sign !== 'string' || (typeof timestamp !== 'number' && typeof timestamp !== 'string')) {
    throw new HttpError(401, { reason: 'missing_signature', message: 'auth_sign and auth_timestamp are required' });
  }
  const ts = String(timestamp);
  if (!/^\d{1,12}$/.test(ts) || !HEX64.test(sign))
    throw new HttpError(401, { reason: 'bad_signature', message: 'bad signature' });
  const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  const input =
    ts +
    s(body.event_type) +
    s(body.publish_domain) +
    s(body.app) +
    s(body.stream) +
    s(body.download_url) +
    s(body.play_url);
  const given = Buffer.from(sign.toLowerCase(), 'hex');
  let ok = false;
  for (const key of keys) {
    if (timingSafeEqual(createHmac('sha256', key).update(input, 'utf8').digest(), given)) ok = true;
  }
  if (!ok) throw new HttpError(401, { reason: 'bad_signature', message: 'auth_sign does not match' });
  if (Math.floor(Date.now() / 1000) > Number(ts) + TOLERANCE_SECONDS) {
    throw new HttpError(401, { reason: 'expired', message: 'auth_timestamp is past the accepted window' });
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Body;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function validate(body: Body): Callback {
  const bad: Record<string, string> = {};
  const id = (name: string, required: boolean) => {
    const v = body[name];
    if (v === undefined && !required) return null;
    if (typeof v !== 'string' || v === '' || v.length > 256) bad[name] = `${name} must be a non-empty string (max 256)`;
    return typeof v === 'string' ? v : null;
  };
  const int = (name: string) => {
    const v = body[name];
    if (v === undefined) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad[name] = `${name} must be a whole number >= 0`;
    return typeof v === 'number' ? v : null;
  };
  const time = (name: string) => {
    const v = body[name];
    if (v === undefined) return null;
    if (typeof v !== 'string' || !HUAWEI_TIME.test(v) || Number.isNaN(Date.parse(v)))
      bad[name] = `${name} must be yyyy-mm-ddThh:mm:ssZ`;
    return typeof v === 'string' ? v : null;
  };
  const eventType = String(body.event_type);
  if (!(eventType in EVENT_STATUS)) bad.event_type = 'unknown event_type';
  const taskId = id('task_id', true);
  id('publish_domain', true);
  id('app', true);
  id('stream', true);
  id('project_id', false);
  int('file_size');
  int('record_duration');
  const fileEvent = eventType === 'RECORD_NEW_FILE_START' || eventType === 'RECORD_FILE_COMPLETE';
  const format = body.record_format === undefined ? null : String(body.record_format);
  if ((fileEvent || format !== null) && !FORMATS.has(String(format)))
    bad.record_format = 'record_format must be HLS, FLV or MP4';
  const jobId = fileEvent ? id('job_id', true) : null;
  let file: FileRow | null = null;
  if (fileEvent)
    file = {
      status: 'RECORDING',
      downloadUrl: null,
      assetId: null,
      fileSize: null,
      recordDuration: null,
      startTime: null,
      endTime: null,
      width: null,
      height: null,
    };
  if (eventType === 'RECORD_FILE_COMPLETE') {
    const url = body.download_url;
    if (typeof url !== 'string' || url.length > 2048 || !/^https?:\/\/[^\s/]+/.test(url))
      bad.download_url = 'download_url must be an http(s) URL';
    file = {
      status: 'COMPLETE',
      downloadUrl: typeof url === 'string' ? url : null,
      assetId: id('asset_id', false),
      fileSize: int('file_size'),
      recordDuration: int('record_duration'),
      startTime: time('start_time'),
      endTime: time('end_time'),
      width: int('width'),
      height: int('height'),
    };
  }
  if (Object.keys(bad).length)
    throw new HttpError(400, { message: `invalid callback: ${Object.keys(bad).join(', ')}`, fields: bad });
  const content: Body = {};
  for (const [k, v] of Object.entries(body)) if (k !== 'auth_sign' && k !== 'auth_timestamp') content[k] = v;
  const { auth_sign: _omitted, ...payload } = body;
  return {
    body,
    taskId: taskId!,
    eventType,
    jobId,
    format,
    dedupeKey: createHash('sha256').update(canonical(content), 'utf8').digest('hex'),
    payload: JSON.stringify(payload),
    file,
  };
}

/** The task's next status and whether it changed (status is a join, it never moves down). */
function nextStatus(prev: string | null, eventType: string): { status: string; changed: boolean } {
  const rank = Math.max(prev ? STATUS_RANK[prev] : 0, EVENT_STATUS[eventType]);
  return { status: STATUS_NAME[rank], changed: STATUS_NAME[rank] !== prev };
}

const FILE_UPSERT = `INSERT INTO recording_files (task_id, job_id, record_format, status, download_url, asset_id, file_size,
    record_duration, start_time, end_time, width, height, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (task_id, job_id, record_format) DO UPDATE SET
    status = CASE WHEN excluded.status = 'COMPLETE' THEN 'COMPLETE' ELSE recording_files.status END,
    download_url = COALESCE(excluded.download_url, recording_files.download_url),
    asset_id = COALESCE(excluded.asset_id, recording_files.asset_id),
    file_size = COALESCE(excluded.file_size, recording_files.file_size),
    record_duration = COALESCE(excluded.record_duration, recording_files.record_duration),
    start_time = COALESCE(excluded.start_time, recording_files.start_time),
    end_time = COALESCE(excluded.end_time, recording_files.end_time),
    width = COALESCE(excluded.width, recording_files.width),
    height = COALESCE(excluded.height, recording_files.height),
    updated_at = excluded.updated_at`;
const TASK_INSERT = `INSERT INTO recording_tasks (task_id, publish_domain, app, stream, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING`;
const TASK_UPDATE = `UPDATE recording_tasks SET project_id = COALESCE(project_id, ?), record_format = COALESCE(record_format, ?),
    status = ?, error_message = COALESCE(error_message, ?), last_event_type = ?, last_event_at = ?, stalled_at = NULL,
    updated_at = ? WHERE task_id = ?`;
const CALLBACK_INSERT = `INSERT INTO recording_callbacks (dedupe_key, task_id, event_type, job_id, publish_domain, payload, received_at)
  VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`;
const TRANSITION_INSERT = `INSERT INTO recording_task_transitions (task_id, from_status, to_status, event_type, job_id, callback_id, at)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

function fileParams(c: Callback, now: unknown): unknown[] {
  const f = c.file!;
  return [
    c.taskId,
    c.jobId,
    c.format,
    f.status,
    f.downloadUrl,
    f.assetId,
    f.fileSize,
    f.recordDuration,
    f.startTime,
    f.endTime,
    f.width,
    f.height,
    now,
    now,
  ];
}

function taskUpdateParams(c: Callback, status: string, now: unknown): unknown[] {
  const b = c.body;
  const error = c.eventType === 'RECORD_FAILED' && typeof b.error_message === 'string' ? b.error_message : null;
  return [b.project_id ?? null, c.format, status, error, c.eventType, now, now, c.taskId];
}

// ------------------------------------------------------------------------------------------- storage

type Store = (c: Callback) => Promise<Answer>;

function sqliteStore(path: string): Store {
  const db = new Database(path, { timeout: 5000 });
  db.pragma('foreign_keys = ON');
  // Each COMMIT on disk before the answer, as the module's host app: left unset, better-sqlite3 runs a WAL
  // connection with synchronous NORMAL, whose COMMIT does not flush (until 2026-12-06 the baseline did that).
  db.pragma('synchronous = FULL');
  db.pragma('journal_mode = WAL');
  for (const sql of schemaStatements('sqlite')) db.exec(sql);
  const taskInsert = db.prepare(TASK_INSERT);
  const taskRead = db.prepare<[string], { status: string | null }>(
    'SELECT status FROM recording_tasks WHERE task_id = ?',
  );
  const duplicate = db.prepare<[string], { id: number }>('SELECT id FROM recording_callbacks WHERE dedupe_key = ?');
  const callbackInsert = db.prepare(CALLBACK_INSERT);
  const taskUpdate = db.prepare(TASK_UPDATE);
  const fileUpsert = db.prepare(FILE_UPSERT);
  const transitionInsert = db.prepare(TRANSITION_INSERT);
  const store = db.transaction((c: Callback): Answer => {
    // SQLite timestamps as TypeORM writes them: UTC 'YYYY-MM-DD HH:MM:SS.SSS'.
    const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
    const b = c.body;
    taskInsert.run(c.taskId, b.publish_domain, b.app, b.stream, now, now);
    const prev = taskRead.get(c.taskId)!.status;
    const dup = duplicate.get(c.dedupeKey);
    if (dup) return { result: 'duplicate', callbackId: dup.id };
    const { id } = callbackInsert.get(
      c.dedupeKey,
      c.taskId,
      c.eventType,
      c.jobId,
      b.publish_domain,
      c.payload,
      now,
    ) as { id: number };
    const { status, changed } = nextStatus(prev, c.eventType);
    taskUpdate.run(...taskUpdateParams(c, status, now));
    if (c.file) fileUpsert.run(...fileParams(c, now));
    if (changed) transitionInsert.run(c.taskId, prev, status, c.eventType, c.jobId, id, now);
    return { result: 'accepted', callbackId: id };
  });
  // better-sqlite3 is synchronous: the transaction commits before this returns.
  return async (c) => store.immediate(c);
}

async function postgresStore(url: string, max: number): Promise<Store> {
  const pool = new Pool({ connectionString: url, max, connectionTimeoutMillis: 5000 });
  for (const sql of schemaStatements('postgres')) await pool.query(sql);
  let n = 0;
  const pg = (sql: string) => sql.replace(/\?/g, () => `$${++n}`);
  const q = (name: string, sql: string) => {
    n = 0;
    return { name, text: pg(sql) };
  };
  const S = {
    taskInsert: q('b_task_insert', TASK_INSERT),
    taskRead: q('b_task_read', 'SELECT status FROM recording_tasks WHERE task_id = ? FOR UPDATE'),
    duplicate: q('b_duplicate', 'SELECT id FROM recording_callbacks WHERE dedupe_key = ?'),
    callbackInsert: q('b_callback_insert', CALLBACK_INSERT),
    taskUpdate: q('b_task_update', TASK_UPDATE),
    fileUpsert: q('b_file_upsert', FILE_UPSERT),
    transitionInsert: q('b_transition_insert', TRANSITION_INSERT),
  };
  return async (c) => {
    const client = await pool.connect();
    try {
      const now = new Date();
      const b = c.body;
      await client.query('BEGIN');
      await client.query({ ...S.taskInsert, values: [c.taskId, b.publish_domain, b.app, b.stream, now, now] });
      const prev = ((await client.query({ ...S.taskRead, values: [c.taskId] })).rows[0] as { status: string | null })
        .status;
      const dup = (await client.query({ ...S.duplicate, values: [c.dedupeKey] })).rows[0] as { id: number } | undefined;
      if (dup) {
        await client.query('COMMIT');
        return { result: 'duplicate', callbackId: dup.id };
      }
      const inserted = await client.query({
        ...S.callbackInsert,
        values: [c.dedupeKey, c.taskId, c.eventType, c.jobId, b.publish_domain, c.payload, now],
      });
      const id = Number((inserted.rows[0] as { id: number }).id);
      const { status, changed } = nextStatus(prev, c.eventType);
      await client.query({ ...S.taskUpdate, values: taskUpdateParams(c, status, now) });
      if (c.file) await client.query({ ...S.fileUpsert, values: fileParams(c, now) });
      if (changed)
        await client.query({ ...S.transitionInsert, values: [c.taskId, prev, status, c.eventType, c.jobId, id, now] });
      await client.query('COMMIT');
      return { result: 'accepted', callbackId: id };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
}

// ---------------------------------------------------------------------------------------------- HTTP

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const store = url
    ? await postgresStore(url, Number(process.env.DATABASE_POOL_SIZE || 10))
    : sqliteStore(process.env.SQLITE_PATH || 'data/baseline.sqlite');
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/recording-callbacks', async (req: Request, res: Response) => {
    try {
      const body: unknown = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new HttpError(400, { message: 'body must be a JSON object' });
      }
      verifySignature(body as Body);
      const callback = validate(body as Body);
      let answer: Answer;
      try {
        answer = await store(callback);
      } catch {
        throw new HttpError(503, { message: 'storage unavailable; send it again' });
      }
      res.status(200).json(answer);
    } catch (error) {
      if (error instanceof HttpError) res.status(error.status).json(error.body);
      else res.status(500).json({ message: 'internal error' });
    }
  });
  app.use((error: { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.status === 413 ? 413 : 400).json({ message: error.type ?? 'bad request' });
  });
  const port = Number(process.env.PORT || 3001);
  const server = app.listen(port, '127.0.0.1', () => console.log(`baseline listening on 127.0.0.1:${port}`));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
