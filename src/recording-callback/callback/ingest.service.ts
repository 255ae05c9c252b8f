import { Injectable } from '@nestjs/common';
import { DeliveryOutbox } from '../delivery/delivery-outbox';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { dedupeKey } from '../protocol/dedupe-key';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { DatabaseGateway } from '../storage/database.gateway';
import type { Batched } from '../storage/database.gateway';
import { cutText } from '../telemetry/log-line';
import { IngestBatchWriter } from './ingest-batch';
import type { Applied, IngestItem } from './ingest-batch';

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

/** A value for the mismatch message, cut so that all three fit in the 200 characters a problem may have. */
const quoted = (value: string) => JSON.stringify(cutText(value, 48));

/**
 * Stores one callback and its effects in a single transaction: lock (or create) the task, drop
 * duplicates, store the callback, apply it to the task store, record its delivery in the outbox; after
 * the commit, hand the delivery over. Callbacks arriving together share the transaction (group commit,
 * `ingest` options; see {@link IngestBatchWriter}), each answered after the commit that stored it.
 * Storage errors propagate as they are (the HTTP layer answers 503 or 400), so Huawei sends the
 * callback again; nothing answered 200 is lost.
 *
 * @example
 * const { result, callbackId } = await ingest.ingest(dto, rawBody);
 */
@Injectable()
export class IngestService {
  private readonly store: Batched<IngestItem, Applied>;

  constructor(
    db: DatabaseGateway,
    writer: IngestBatchWriter,
    private readonly outbox: DeliveryOutbox,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {
    const { batchSize: maxSize, batchWaitMs: maxWaitMs, concurrency } = options.ingest;
    // The writer runs only the gateway's statements: BEGIN and COMMIT may travel with them.
    this.store = db.batcher(
      (em, items) => writer.write(em, items),
      { maxSize, maxWaitMs, concurrency },
      { pipelined: true },
    );
  }

  /** Throws {@link InvalidFieldsException} when the callback's task belongs to another domain, app or stream. */
  async ingest(callback: RecordingCallbackDto, raw: Record<string, unknown>): Promise<IngestResult> {
    const receivedAt = new Date(this.options.now());
    const key = dedupeKey(raw);
    const { auth_sign: _omitted, ...payload } = raw;
    const payloadJson = JSON.stringify(payload);
    // A storage failure is a typed error (503, or 400 for a refused value). Usually nothing was stored; if
    // the connection broke during COMMIT it was, and the resend is answered "duplicate". Either way
    // sending it again is safe.
    const applied = await this.store({ callback, payloadJson, dedupeKey: key, receivedAt });
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
}
