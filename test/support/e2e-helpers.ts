import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';

/** More keys that satisfy the module's key rules, for per-domain and rotation tests. */
export const KEY_C = 'Md5DomainKey0123456789abcdefGHIJKLmn';
export const KEY_D = 'OtherDomainKeyZZ99887766554433221100ab';

/** Default route of the callback controller. */
export const CALLBACK_PATH = '/recording-callbacks';
/** Default route of the task query controller. */
export const TASKS_PATH = '/recording-tasks';

/** Any ISO-8601 UTC instant as `Date.prototype.toISOString` or Huawei writes it. */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/**
 * POSTs a JSON body to the callback route (default path) over real HTTP.
 *
 * @example
 * await postCallback(app, sign(startBody('t1'))).expect(200);
 */
export function postCallback(app: INestApplication, body: unknown, path = CALLBACK_PATH): request.Test {
  return request(app.getHttpServer())
    .post(path)
    .send(body as object);
}

/** A row of `recording_callbacks`, with the payload decoded whatever the database. */
export interface StoredCallbackRow {
  id: number;
  event_type: string;
  job_id: string | null;
  payload: Record<string, unknown>;
}

/**
 * Reads the stored callbacks of a task straight from the table through the app's DataSource, oldest first.
 *
 * @example
 * const rows = await storedCallbacks(app, 't1'); expect(rows).toHaveLength(1);
 */
export async function storedCallbacks(app: INestApplication, taskId: string): Promise<StoredCallbackRow[]> {
  const ds = app.get(DataSource);
  const postgres = ds.options.type === 'postgres';
  const placeholder = postgres ? '$1' : '?';
  // TypeORM writes SQLite "jsonb" columns in SQLite's binary JSONB format; json() renders it as text.
  const payload = postgres ? 'payload' : 'json(payload) AS payload';
  const rows: Array<{ id: number | string; event_type: string; job_id: string | null; payload: unknown }> =
    await ds.query(
      `SELECT id, event_type, job_id, ${payload} FROM recording_callbacks WHERE task_id = ${placeholder} ORDER BY id`,
      [taskId],
    );
  return rows.map((r) => ({
    id: Number(r.id),
    event_type: r.event_type,
    job_id: r.job_id,
    payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
  }));
}

/** Deterministic shuffle (mulberry32), so an "out of order" test always sends the same order. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
