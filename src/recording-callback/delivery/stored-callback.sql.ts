import { placeholders, statement, valueRows } from '../storage/statement';
import type { Statement } from '../storage/statement';

/** A callback to store, as {@link storedCallbackSql.insert} takes it. */
export interface NewStoredCallback {
  dedupeKey: string;
  taskId: string;
  eventType: string;
  jobId: string | null;
  publishDomain: string;
  payload: string;
  receivedAt: Date | string | null;
}

/**
 * The statements of `recording_callbacks`, the stored callbacks deliveries are rebuilt from.
 *
 * @example
 * const [stored] = await db.query<{ id: number }>(em, storedCallbackSql.insert({ ... }));
 */
export const storedCallbackSql = {
  /** Stores a callback unless one with its dedupe key exists; returns `id` only when it stored it. */
  insert(c: NewStoredCallback): Statement {
    return statement(
      `INSERT INTO recording_callbacks (dedupe_key, task_id, event_type, job_id, publish_domain, payload, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [c.dedupeKey, c.taskId, c.eventType, c.jobId, c.publishDomain, c.payload, c.receivedAt],
    );
  },

  /**
   * Stores callbacks (distinct dedupe keys) in one statement, in the given order, so their ids rise in
   * that order; skips those whose key exists. Returns `id, dedupe_key` of the stored ones only.
   */
  insertMany(callbacks: NewStoredCallback[]): Statement {
    return statement(
      `INSERT INTO recording_callbacks (dedupe_key, task_id, event_type, job_id, publish_domain, payload, received_at)
       VALUES ${valueRows(callbacks.length, 7)}
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key`,
      callbacks.flatMap((c) => [c.dedupeKey, c.taskId, c.eventType, c.jobId, c.publishDomain, c.payload, c.receivedAt]),
    );
  },

  /** Deletes callbacks by id (those a batch stored before it found them refused, in the same transaction). */
  deleteByIds(ids: number[]): Statement {
    return statement(`DELETE FROM recording_callbacks WHERE id IN (${placeholders(ids.length)})`, ids);
  },

  /** `id, dedupe_key` of the stored callbacks among the given dedupe keys. */
  idsByDedupeKeys(keys: string[]): Statement {
    return statement(
      `SELECT id, dedupe_key FROM recording_callbacks WHERE dedupe_key IN (${placeholders(keys.length)})`,
      keys,
    );
  },

  /** The `id` of the callback stored under a dedupe key. */
  idByDedupeKey(dedupeKey: string): Statement {
    return statement('SELECT id FROM recording_callbacks WHERE dedupe_key = ?', [dedupeKey]);
  },

  /** The stored payload of a callback, returning `payload`. */
  payload(callbackId: number): Statement {
    return statement(`SELECT payload FROM recording_callbacks WHERE id = ?`, [callbackId]);
  },
};
