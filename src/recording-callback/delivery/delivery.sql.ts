import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import type { SqlDialect } from '../storage/sql-dialect';
import { placeholders, statement } from '../storage/statement';
import type { Statement } from '../storage/statement';
import type { DeliveryStatus } from './delivery.entity';

/**
 * A delivery claimed by this instance, ready to run.
 *
 * @example
 * const stored = await outbox.store(em, delivery); // stored.state === 'claimed': stored.row
 */
export interface DeliveryRow {
  id: number;
  callbackId: number | null;
  taskId: string;
  eventType: string;
  attempts: number;
  succeeded: string[];
  context: unknown;
  /** The validated callback when it is still in memory (the fast path right after ingest). */
  callback?: RecordingCallbackDto;
}

/**
 * Reads a claimed delivery from a raw `recording_deliveries` row.
 *
 * @example
 * const row = toDeliveryRow(raw, db.dialect);
 */
export function toDeliveryRow(r: Record<string, unknown>, dialect: SqlDialect): DeliveryRow {
  return {
    id: Number(r.id),
    callbackId: r.callback_id === null ? null : Number(r.callback_id),
    taskId: String(r.task_id),
    eventType: String(r.event_type),
    attempts: Number(r.attempts),
    succeeded: dialect.readJson<string[]>(r.succeeded_handlers),
    context: r.context,
  };
}

/** Largest id a delivery (an `integer` column) can have; larger ids name no delivery. */
export const MAX_DELIVERY_ID = 2_147_483_647;

/** Statuses a replay may start from. */
export type ReplayableStatus = Exclude<DeliveryStatus, 'pending'>;

const OPEN = `status IN ('pending', 'failed')`;

/**
 * lease_owner and lease_until of a new delivery: the given lease, unless none is given (NULL) or the task
 * has an open delivery. One text whether a row claims or not, so a multi-row insert has one text per row
 * count (SQLite caches prepared statements by text).
 */
const CLAIM_IF_NONE_OPEN = ['CAST(? AS VARCHAR(64))', 'CAST(? AS BIGINT)']
  .map(
    (value) =>
      `CASE WHEN ${value} IS NULL THEN NULL
         WHEN EXISTS (SELECT 1 FROM recording_deliveries WHERE task_id = ? AND ${OPEN}) THEN NULL ELSE ${value} END`,
  )
  .join(', ');

/** A delivery row to insert (`now` in epoch ms, `context` as JSON text). */
export interface NewDeliveryRow {
  callbackId: number | null;
  taskId: string;
  eventType: string;
  status: DeliveryStatus;
  now: number;
  context: string;
}

/** The outcome of one attempt, as {@link deliverySql.finish} records it (times in epoch ms). */
export interface DeliveryOutcomeRow {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  succeeded: string[];
  now: number;
}

/** A lease to take on a new delivery (see {@link deliverySql.insert}). */
export interface DeliveryClaim {
  owner: string;
  leaseUntil: number;
}

/**
 * The statements of the `recording_deliveries` table. Times are epoch milliseconds; `?` placeholders.
 *
 * @example
 * const [row] = await db.query(em, deliverySql.insert({ ... }, { owner, leaseUntil }));
 */
export const deliverySql = {
  /**
   * A new delivery, returning `id, lease_owner, callback_id`. With `claim`, it is leased to
   * `claim.owner` in the same statement when no other delivery of its task is open.
   */
  insert(d: NewDeliveryRow, claim?: DeliveryClaim): Statement {
    return deliverySql.insertMany([{ ...d, claim }]);
  },

  /**
   * New deliveries in one statement, in order (so ids rise in that order), returning `id, lease_owner,
   * callback_id` of each. The claim check sees only deliveries stored before the statement, so give a
   * `claim` to at most one delivery per task.
   */
  insertMany(list: Array<NewDeliveryRow & { claim?: DeliveryClaim }>): Statement {
    const rows = list.map(() => `(?, ?, ?, ?, 0, ?, ${CLAIM_IF_NONE_OPEN}, NULL, '[]', ?, ?, ?)`);
    return statement(
      `INSERT INTO recording_deliveries (callback_id, task_id, event_type, status, attempts, next_attempt_at, lease_owner,
         lease_until, last_error, succeeded_handlers, context, created_at, updated_at)
       VALUES ${rows.join(', ')}
       RETURNING id, lease_owner, callback_id`,
      list.flatMap((d) => [
        d.callbackId,
        d.taskId,
        d.eventType,
        d.status,
        d.now,
        ...[d.claim?.owner ?? null, d.taskId, d.claim?.owner ?? null],
        ...[d.claim?.leaseUntil ?? null, d.taskId, d.claim?.leaseUntil ?? null],
        d.context,
        d.now,
        d.now,
      ]),
    );
  },

  /**
   * Leases the oldest open delivery of a task, only when it is due and not leased, and only while no
   * other delivery of the task runs (a replayed older one must wait for a later one still running).
   * The database re-checks the conditions against the current row. Returns the whole row.
   */
  claimNext(taskId: string, owner: string, now: number, leaseUntil: number): Statement {
    return statement(
      `UPDATE recording_deliveries SET lease_owner = ?, lease_until = ?, updated_at = ?
       WHERE id = (SELECT id FROM recording_deliveries WHERE task_id = ? AND ${OPEN} ORDER BY id LIMIT 1)
         AND ${OPEN} AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
         AND NOT EXISTS (SELECT 1 FROM recording_deliveries other
                         WHERE other.task_id = ? AND other.lease_until >= ? AND other.id <> recording_deliveries.id)
       RETURNING *`,
      [owner, leaseUntil, now, taskId, now, now, taskId, now],
    );
  },

  /**
   * Tasks whose oldest open delivery is due and not leased, soonest first. Only a task's oldest open
   * delivery can run, so a task held back by a delivery in backoff does not crowd out one that is ready.
   */
  dueTasks(now: number, limit: number): Statement {
    return statement(
      `SELECT d.task_id FROM recording_deliveries d
       WHERE d.${OPEN} AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until < ?)
         AND d.id = (SELECT MIN(o.id) FROM recording_deliveries o WHERE o.task_id = d.task_id AND o.${OPEN})
       ORDER BY d.next_attempt_at LIMIT ${Math.trunc(limit)}`,
      [now, now],
    );
  },

  /** Records an attempt's outcome and frees the lease, only while `owner` still holds it; returns `id`. */
  finish(id: number, owner: string, o: DeliveryOutcomeRow): Statement {
    return deliverySql.finishMany([{ ...o, id, owner }]);
  },

  /**
   * Records the outcomes of several deliveries in one statement, each only while its `owner` still holds
   * its lease; returns the `id` of each delivery updated. Each column takes its row's value through
   * `CASE id WHEN … ELSE column END`, so each value gets the column's type on both databases.
   */
  finishMany(list: Array<DeliveryOutcomeRow & { id: number; owner: string }>): Statement {
    const set = (column: string, value: (o: (typeof list)[number]) => unknown) => ({
      sql: `${column} = CASE id ${list.map(() => 'WHEN ? THEN ?').join(' ')} ELSE ${column} END`,
      params: list.flatMap((o) => [o.id, value(o)]),
    });
    const columns = [
      set('status', (o) => o.status),
      set('attempts', (o) => o.attempts),
      set('next_attempt_at', (o) => o.nextAttemptAt),
      set('last_error', (o) => o.lastError),
      set('succeeded_handlers', (o) => JSON.stringify(o.succeeded)),
      set('updated_at', (o) => o.now),
    ];
    return statement(
      `UPDATE recording_deliveries SET ${columns.map((c) => c.sql).join(', ')}, lease_owner = NULL, lease_until = NULL
       WHERE ${list.map(() => '(id = ? AND lease_owner = ?)').join(' OR ')} RETURNING id`,
      [...columns.flatMap((c) => c.params), ...list.flatMap((o) => [o.id, o.owner])],
    );
  },

  /** Frees the leases `owner` holds on the given deliveries. */
  release(owner: string, ids: readonly number[]): Statement {
    return statement(
      `UPDATE recording_deliveries SET lease_owner = NULL, lease_until = NULL
       WHERE lease_owner = ? AND id IN (${placeholders(ids.length)})`,
      [owner, ...ids],
    );
  },

  /** Frees every lease `owner` holds (on shutdown, so another instance takes over at once). */
  releaseAll(owner: string): Statement {
    return statement(`UPDATE recording_deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?`, [
      owner,
    ]);
  },

  /**
   * Replays deliveries: due now, attempts reset, and handlers that already succeeded kept (except for a
   * fully delivered delivery, which goes to every handler again). A delivery that is running (leased)
   * is left alone, so its outcome cannot overwrite the replay. Selects one delivery by `id`, or every
   * delivery of a `status` (optionally of one task, and last changed at or after `since`, epoch ms).
   * Returns `id, task_id, event_type` of each replayed delivery.
   */
  replay(
    now: number,
    which: { id: number } | { status: ReplayableStatus; taskId?: string; since?: number },
  ): Statement {
    const where: string[] = [];
    const params: unknown[] = [];
    if ('id' in which) {
      where.push('id = ?');
      params.push(which.id);
    } else {
      where.push('status = ?');
      params.push(which.status);
      if (which.taskId !== undefined) {
        where.push('task_id = ?');
        params.push(which.taskId);
      }
      if (which.since !== undefined) {
        where.push('updated_at >= ?');
        params.push(which.since);
      }
    }
    // '[]' takes the type of the other branch (jsonb on PostgreSQL, text on SQLite).
    return statement(
      `UPDATE recording_deliveries
         SET succeeded_handlers = CASE WHEN status = 'delivered' THEN '[]' ELSE succeeded_handlers END,
             status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
       WHERE ${where.join(' AND ')} AND (lease_until IS NULL OR lease_until < ?)
       RETURNING id, task_id, event_type`,
      [now, now, ...params, now],
    );
  },
};
