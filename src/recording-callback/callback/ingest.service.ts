import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DeliveryOutbox } from '../delivery/delivery-outbox';
import type { StoredDelivery } from '../delivery/delivery-outbox';
import { storedCallbackSql } from '../delivery/stored-callback.sql';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { dedupeKey } from '../protocol/dedupe-key';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { fileKeyOf } from '../tasks/task-state.reducer';
import { TaskStore } from '../tasks/task.store';
import type { LockedTask } from '../tasks/task.store';
import { DatabaseGateway } from '../storage/database.gateway';
import { cutText } from '../telemetry/log-line';

/**
 * What storing one callback came to: newly stored, or a duplicate of a stored one; with the id of the
 * stored callback either way.
 *
 * @example
 * { result: 'accepted', callbackId: 42 }
 */
export interface IngestResult {
  result: 'accepted' | 'duplicate';
  callbackId: number;
}

/** A field of a callback that differs from the task its task_id names. */
interface Mismatch {
  field: (typeof IDENTITY)[number];
  given: string;
  stored: string;
}

/** The transaction's outcome; a refused callback is thrown only after it, so it fails no group commit. */
type Applied = (IngestResult & { delivery?: StoredDelivery }) | { result: 'mismatch'; fields: Mismatch[] };

const IDENTITY = ['publish_domain', 'app', 'stream'] as const;

/** A value for the mismatch message, cut so that all three fit in the 200 characters a problem may have. */
const quoted = (value: string) => JSON.stringify(cutText(value, 48));

/**
 * Stores one callback and its effects in a single transaction: lock (or create) the task, drop
 * duplicates, store the callback, apply it to the task store, record its delivery in the outbox; after
 * the commit, hand the delivery over. Storage errors propagate as they are (the HTTP layer answers 503
 * or 400), so Huawei sends the callback again; nothing answered 200 is lost.
 *
 * @example
 * const { result, callbackId } = await ingest.ingest(dto, rawBody);
 */
@Injectable()
export class IngestService {
  constructor(
    private readonly db: DatabaseGateway,
    private readonly tasks: TaskStore,
    private readonly outbox: DeliveryOutbox,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  /** Throws {@link InvalidFieldsException} when the callback's task belongs to another domain, app or stream. */
  async ingest(callback: RecordingCallbackDto, raw: Record<string, unknown>): Promise<IngestResult> {
    const receivedAt = new Date(this.options.now());
    const key = dedupeKey(raw);
    const { auth_sign: _omitted, ...payload } = raw;
    const payloadJson = JSON.stringify(payload);
    // A storage failure is a typed error (503, or 400 for a refused value). Usually nothing was stored; if
    // the connection broke during COMMIT it was, and the resend is answered "duplicate". Either way
    // sending it again is safe.
    const applied = await this.db.transaction((em) => this.apply(em, callback, payloadJson, key, receivedAt));
    if (applied.result === 'mismatch') {
      // Both values are named, so the operator can tell a misrouted domain from a squatted task id
      // (docs/production.md); the exception filter logs the message as an invalid callback.
      const task = quoted(callback.task_id);
      throw new InvalidFieldsException(
        Object.fromEntries(
          applied.fields.map(({ field, given, stored }) => [
            field,
            [`${field} ${quoted(given)} differs from ${quoted(stored)}, the ${field} of task ${task}`],
          ]),
        ),
      );
    }
    const { delivery, ...result } = applied;
    // Handlers run after the commit made the callback and its delivery durable; they never change the
    // answer, and a failure is retried from the stored delivery.
    if (delivery) void this.outbox.handOver(delivery);
    return result;
  }

  private async apply(
    em: EntityManager,
    callback: RecordingCallbackDto,
    payloadJson: string,
    key: string,
    receivedAt: Date,
  ): Promise<Applied> {
    // Every callback of a task serialises on the task row, which makes the dedupe below race-free and
    // keeps callback ids in the order the state was reduced.
    const locked = await this.tasks.createOrLock(em, callback, receivedAt);
    const fields = otherTaskFields(locked, callback);
    if (fields.length) return { result: 'mismatch', fields };

    // Most callbacks are new: try the insert, and look up the stored one only when the key exists.
    const [stored] = await this.db.query<{ id: number }>(
      em,
      storedCallbackSql.insert({
        dedupeKey: key,
        taskId: callback.task_id,
        eventType: callback.event_type,
        jobId: fileKeyOf(callback)?.jobId ?? null,
        publishDomain: callback.publish_domain,
        payload: payloadJson,
        receivedAt: this.db.dialect.time(receivedAt),
      }),
    );
    if (!stored) {
      const [duplicate] = await this.db.query<{ id: number }>(em, storedCallbackSql.idByDedupeKey(key));
      // Callbacks are never deleted, so the conflicting row is there; say so plainly if it is not.
      if (!duplicate) throw new Error(`callback with dedupe key ${key} conflicted but cannot be read`);
      return { result: 'duplicate', callbackId: Number(duplicate.id) };
    }
    const callbackId = Number(stored.id);
    const applied = await this.tasks.apply(em, locked.state, callback, callbackId, receivedAt);
    const delivery = await this.outbox.store(em, {
      callbackId,
      taskId: callback.task_id,
      eventType: callback.event_type,
      context: { ...applied, at: receivedAt },
      callback,
    });
    return { result: 'accepted', callbackId, delivery };
  }
}

/**
 * Keys are chosen by publish_domain, so a callback signed for one domain must not touch another
 * domain's task: a task keeps the domain, app and stream of its first callback. Returns the fields
 * that differ.
 */
function otherTaskFields(locked: LockedTask, callback: RecordingCallbackDto): Mismatch[] {
  if (!locked.state) return [];
  const stored = { publish_domain: locked.publishDomain, app: locked.app, stream: locked.stream };
  return IDENTITY.filter((f) => stored[f] !== callback[f]).map((field) => ({
    field,
    given: callback[field],
    stored: stored[field],
  }));
}
