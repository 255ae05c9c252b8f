import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DeliveryOutbox } from '../delivery/delivery-outbox';
import type { StoredDelivery } from '../delivery/delivery-outbox';
import { storedCallbackSql } from '../delivery/stored-callback.sql';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { DatabaseGateway } from '../storage/database.gateway';
import { combineWithReads } from '../storage/sql-dialect';
import { TaskBatchStore } from '../tasks/task-batch.store';
import type { LockedTask } from '../tasks/task-batch.store';
import type { TaskIdentity } from '../tasks/task-batch.sql';
import { fileKeyOf } from '../tasks/task-state.reducer';
import type { FileState } from '../tasks/task-state.reducer';

/** One callback to store, as the controller's ingest prepared it. */
export interface IngestItem {
  callback: RecordingCallbackDto;
  /** The body less `auth_sign`, as JSON. */
  payloadJson: string;
  dedupeKey: string;
  receivedAt: Date;
}

/** A field of a callback that differs from the task its task_id names. */
export interface Mismatch {
  field: (typeof IDENTITY)[number];
  given: string;
  stored: string;
}

/** What storing one callback came to; a refused callback is thrown only after the commit. */
export type Applied =
  | { result: 'accepted' | 'duplicate'; callbackId: number; delivery?: StoredDelivery }
  | { result: 'mismatch'; fields: Mismatch[] };

const IDENTITY = ['publish_domain', 'app', 'stream'] as const;

/**
 * Stores a batch of callbacks in the caller's transaction with a fixed number of statements, whatever
 * the batch size: lock (or create) every task of the batch in task id order and insert the new callbacks
 * (a dedupe key already stored, or seen earlier in the batch, makes a duplicate), both in one round trip
 * on PostgreSQL; refuse callbacks whose domain, app or stream differ from their task's (deleting again
 * those just inserted); apply the rest to the task store in batch order, and write the tasks, files,
 * transitions and deliveries together. The outcome is what one transaction per callback, run in batch
 * order, would have stored.
 *
 * @example
 * const applied = await writer.write(em, items); // one outcome per item, in order
 */
@Injectable()
export class IngestBatchWriter {
  constructor(
    private readonly db: DatabaseGateway,
    private readonly tasks: TaskBatchStore,
    private readonly outbox: DeliveryOutbox,
  ) {}

  /** Stores the items; returns one outcome per item, in order. */
  async write(em: EntityManager, items: IngestItem[]): Promise<Applied[]> {
    // Every callback of a task serialises on the task row, which makes the dedupe below race-free and
    // keeps callback ids in the order the state was reduced. A task is created with its first callback's identity.
    const identities = new Map<string, TaskIdentity & { at: Date }>();
    for (const { callback: c, receivedAt: at } of items) {
      if (!identities.has(c.task_id)) {
        identities.set(c.task_id, {
          taskId: c.task_id,
          publishDomain: c.publish_domain,
          app: c.app,
          stream: c.stream,
          at,
        });
      }
    }
    // The first item with a dedupe key is the candidate to store; later ones are its duplicates. The key
    // covers the task's identity fields, so the items of one key match their task all alike, or none does.
    const firstByKey = new Map<string, number>();
    items.forEach((item, i) => firstByKey.has(item.dedupeKey) || firstByKey.set(item.dedupeKey, i));
    const candidates = [...firstByKey.values()].map((i) => items[i]);
    const lock = this.tasks.lockStatement([...identities.values()]);
    const insert = this.insertStatement(candidates);
    // One round trip on PostgreSQL. The insert runs after the lock, on a snapshot of its own, so its reads
    // see whatever an earlier batch holding one of these tasks stored.
    const [lockRows, insertRows] = await this.db.queryInOrder(em, [lock.statement, insert.statement]);
    const locked = lock.read(lockRows);
    const { ids, files } = await insert.read(em, insertRows);

    const out: Applied[] = [];
    const accepted: number[] = [];
    // Candidates of another task's identity were stored with the rest: the batch's last statement deletes them.
    const refused: number[] = [];
    items.forEach((item, i) => {
      const fields = otherTaskFields(locked.get(item.callback.task_id)!, item.callback);
      const { id, stored } = ids.get(item.dedupeKey)!;
      const mine = stored && firstByKey.get(item.dedupeKey) === i;
      if (fields.length) {
        out.push({ result: 'mismatch', fields });
        if (mine) refused.push(id);
        return;
      }
      out.push({ result: mine ? 'accepted' : 'duplicate', callbackId: id });
      if (mine) accepted.push(i);
    });
    const cleanUp = refused.length ? [storedCallbackSql.deleteByIds(refused)] : [];
    if (!accepted.length) {
      if (cleanUp.length) await this.db.commitWith(em, cleanUp);
      return out;
    }

    const entries = accepted.map((i) => ({
      callback: items[i].callback,
      callbackId: (out[i] as { callbackId: number }).callbackId,
      receivedAt: items[i].receivedAt,
    }));
    const { applied, writes } = await this.tasks.reduceAll(em, locked, entries, files);
    const deliveries = this.outbox.prepareAll(
      entries.map((e, n) => ({
        callbackId: e.callbackId,
        taskId: e.callback.task_id,
        eventType: e.callback.event_type,
        context: { ...applied[n], at: e.receivedAt },
        callback: e.callback,
      })),
    );
    // The task, file, transition and delivery rows depend only on what was read above: one statement on
    // PostgreSQL, which also carries the batch's COMMIT. Nothing may run in the transaction after it.
    const stored = deliveries.read(await this.db.commitWith(em, [...cleanUp, ...writes, deliveries.insert]));
    accepted.forEach((i, n) => ((out[i] as { delivery?: StoredDelivery }).delivery = stored[n]));
    return out;
  }

  /**
   * The insert of the candidates (distinct keys), and how to read what it did: the id stored under each
   * key, and whether this insert stored it (false: a duplicate of an earlier callback). Where a statement
   * costs a round trip (PostgreSQL), the same statement also reads the ids of keys stored before and the
   * stored files of the candidates (for `reduceAll`): both are safe to read after the task locks.
   */
  private insertStatement(candidates: IngestItem[]) {
    const { dialect } = this.db;
    const keys = candidates.map((c) => c.dedupeKey);
    let files: ReturnType<TaskBatchStore['filesOf']> | undefined;
    const insert = storedCallbackSql.insertMany(
      candidates.map(({ callback, dedupeKey, payloadJson, receivedAt }) => ({
        dedupeKey,
        taskId: callback.task_id,
        eventType: callback.event_type,
        jobId: fileKeyOf(callback)?.jobId ?? null,
        publishDomain: callback.publish_domain,
        payload: payloadJson,
        receivedAt: dialect.time(receivedAt),
      })),
    );
    const combined = combineWithReads<{ id: number; dedupe_key: string }>(dialect, insert, () => {
      files = this.tasks.filesOf(candidates.map((c) => c.callback));
      return [storedCallbackSql.idsByDedupeKeys(keys), ...(files.select ? [files.select] : [])];
    });
    const read = async (em: EntityManager, result: Record<string, unknown>[]) => {
      const { rows, reads } = combined.read(result);
      const [before, fileRows] = reads ?? [];
      const ids = new Map<string, { id: number; stored: boolean }>();
      for (const r of rows) ids.set(r.dedupe_key, { id: Number(r.id), stored: true });
      // Keys stored before this insert (read on its snapshot, or looked up after it): duplicates.
      const storedBefore = (found: Record<string, unknown>[]) => {
        for (const r of found) {
          const key = String(r.dedupe_key);
          if (!ids.has(key)) ids.set(key, { id: Number(r.id), stored: false });
        }
      };
      storedBefore(before ?? []);
      const missing = keys.filter((k) => !ids.has(k));
      if (missing.length) {
        storedBefore(await this.db.query(em, storedCallbackSql.idsByDedupeKeys(missing)));
        // Committed callbacks are never deleted, so every conflicting row is there; say so plainly if one is not.
        const lost = missing.find((k) => !ids.has(k));
        if (lost) throw new Error(`callback with dedupe key ${lost} conflicted but cannot be read`);
      }
      // The reads ran with the insert: the stored files come with it (none when no candidate is about a file).
      const stored: Map<string, FileState> | undefined = reads
        ? fileRows
          ? files!.read(fileRows)
          : new Map()
        : undefined;
      return { ids, files: stored };
    };
    return { statement: combined.statement, read };
  }
}

/**
 * Keys are chosen by publish_domain, so a callback signed for one domain must not touch another
 * domain's task: a task keeps the domain, app and stream of its first callback. Returns the fields
 * that differ.
 */
function otherTaskFields(locked: LockedTask, callback: RecordingCallbackDto): Mismatch[] {
  // A task created by this batch has its first callback's identity; one stored earlier, its own.
  const stored = { publish_domain: locked.publishDomain, app: locked.app, stream: locked.stream };
  return IDENTITY.filter((f) => stored[f] !== callback[f]).map((field) => ({
    field,
    given: callback[field],
    stored: stored[field],
  }));
}
