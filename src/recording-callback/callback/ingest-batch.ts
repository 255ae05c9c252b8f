import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DeliveryOutbox } from '../delivery/delivery-outbox';
import type { StoredDelivery } from '../delivery/delivery-outbox';
import { storedCallbackSql } from '../delivery/stored-callback.sql';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { DatabaseGateway } from '../storage/database.gateway';
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
 * the batch size: lock (or create) every task of the batch in task id order, refuse callbacks whose
 * domain, app or stream differ from their task's, insert the new callbacks (a dedupe key already
 * stored, or seen earlier in the batch, makes a duplicate), apply them to the task store in batch order,
 * and write the tasks, files, transitions and deliveries together. The outcome is what one transaction
 * per callback, run in batch order, would have stored.
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
    const locked = await this.tasks.lockAll(em, [...identities.values()]);
    const out: Applied[] = items.map((item) => {
      const fields = otherTaskFields(locked.get(item.callback.task_id)!, item.callback);
      return fields.length ? { result: 'mismatch', fields } : { result: 'accepted', callbackId: 0 };
    });

    // The first item with a dedupe key is the candidate to store; later ones are its duplicates.
    const firstByKey = new Map<string, number>();
    items.forEach((item, i) => {
      if (out[i].result !== 'mismatch' && !firstByKey.has(item.dedupeKey)) firstByKey.set(item.dedupeKey, i);
    });
    const candidates = [...firstByKey.values()];
    const { ids, files } = await this.insertCallbacks(
      em,
      candidates.map((i) => items[i]),
    );

    const accepted: number[] = [];
    items.forEach((item, i) => {
      if (out[i].result === 'mismatch') return;
      const { id, stored } = ids.get(item.dedupeKey)!;
      const mine = stored && firstByKey.get(item.dedupeKey) === i;
      out[i] = { result: mine ? 'accepted' : 'duplicate', callbackId: id };
      if (mine) accepted.push(i);
    });
    if (!accepted.length) return out;

    const entries = accepted.map((i) => ({
      callback: items[i].callback,
      callbackId: (out[i] as { callbackId: number }).callbackId,
      receivedAt: items[i].receivedAt,
    }));
    const { applied, writes } = await this.tasks.reduceAll(em, locked, entries, files);
    const { insert, read } = this.outbox.prepareAll(
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
    const deliveries = read(await this.db.commitWith(em, [...writes, insert]));
    accepted.forEach((i, n) => ((out[i] as { delivery?: StoredDelivery }).delivery = deliveries[n]));
    return out;
  }

  /**
   * Inserts the candidates (distinct keys) and returns the id stored under each key, and whether this
   * insert stored it (false: a duplicate of an earlier callback). Where a statement costs a round trip
   * (PostgreSQL), the same statement also reads the ids of keys stored before and the stored files of
   * the candidates (for `reduceAll`): both are safe to read now, as every task of the batch is locked.
   */
  private async insertCallbacks(
    em: EntityManager,
    candidates: IngestItem[],
  ): Promise<{ ids: Map<string, { id: number; stored: boolean }>; files?: Map<string, FileState> }> {
    const ids = new Map<string, { id: number; stored: boolean }>();
    if (!candidates.length) return { ids };
    const { time } = this.db.dialect;
    const keys = candidates.map((c) => c.dedupeKey);
    let files: ReturnType<TaskBatchStore['filesOf']> | undefined;
    const { rows, reads } = await this.db.writeWithReads<{ id: number; dedupe_key: string }>(
      em,
      storedCallbackSql.insertMany(
        candidates.map(({ callback, dedupeKey, payloadJson, receivedAt }) => ({
          dedupeKey,
          taskId: callback.task_id,
          eventType: callback.event_type,
          jobId: fileKeyOf(callback)?.jobId ?? null,
          publishDomain: callback.publish_domain,
          payload: payloadJson,
          receivedAt: time(receivedAt),
        })),
      ),
      () => {
        files = this.tasks.filesOf(candidates.map((c) => c.callback));
        return [storedCallbackSql.idsByDedupeKeys(keys), ...(files.select ? [files.select] : [])];
      },
    );
    const [before, fileRows] = reads ?? [];
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
      // Callbacks are never deleted, so every conflicting row is there; say so plainly if one is not.
      const lost = missing.find((k) => !ids.has(k));
      if (lost) throw new Error(`callback with dedupe key ${lost} conflicted but cannot be read`);
    }
    // The reads ran with the insert: the stored files come with it (none when no candidate is about a file).
    if (!reads) return { ids };
    return { ids, files: fileRows ? files!.read(fileRows) : new Map() };
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
