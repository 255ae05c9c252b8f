import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { DatabaseGateway } from '../storage/database.gateway';
import type { Statement } from '../storage/statement';
import type { DeliveryContext } from './delivery-context';
import type { DeliveryStatus } from './delivery.entity';
import { deliverySql } from './delivery.sql';
import { DeliveryScheduler } from './delivery-scheduler';
import { RecordingHandlerRegistry } from './recording-handler.registry';
import { EVENT_NAME_BY_TYPE, RECOVERED_EVENT_TYPE, RecordingEvents } from './recording-events';
import type { DeliveryRow } from './delivery.sql';

/**
 * What {@link DeliveryOutbox.store} records: a callback (or, with `callbackId` null, a stall notice or,
 * with event type `RECOVERED`, a recovered file).
 *
 * @example
 * await outbox.store(em, { callbackId, taskId, eventType: 'RECORD_OVER', context });
 */
export interface NewDelivery {
  callbackId: number | null;
  taskId: string;
  eventType: string;
  context: DeliveryContext;
  callback?: RecordingCallbackDto;
}

/**
 * What {@link DeliveryOutbox.store} did with a delivery: claimed it for this instance (to run right
 * after commit), left it pending (a task loop or the poll runs it later), or recorded it as delivered
 * because no handler listens to its events.
 *
 * @example
 * const stored = await outbox.store(em, delivery); // inside the transaction
 * void outbox.handOver(stored); // after commit
 */
export type StoredDelivery =
  { state: 'claimed'; row: DeliveryRow } | { state: 'pending'; taskId: string } | { state: 'delivered' };

/**
 * The transactional outbox: a delivery is stored in the same transaction as what it reports, so a
 * committed callback is never lost and a rolled-back one is never delivered; after the commit it is
 * handed to the scheduler.
 *
 * @example
 * const stored = await outbox.store(em, delivery); // in the callback's transaction
 * void outbox.handOver(stored); // right after it committed
 */
@Injectable()
export class DeliveryOutbox {
  constructor(
    private readonly db: DatabaseGateway,
    private readonly scheduler: DeliveryScheduler,
    private readonly registry: RecordingHandlerRegistry,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  /**
   * Records a delivery inside the caller's transaction. When no handler listens to its events it is
   * recorded as delivered at once. When it is the only open delivery of its task, it is claimed for
   * this instance in the same statement (saving a claim transaction); otherwise it waits its turn behind
   * the task's older deliveries. Pass the result to {@link handOver} after commit.
   */
  async store(em: EntityManager, d: NewDelivery): Promise<StoredDelivery> {
    const [stored] = await this.storeAll(em, [d]);
    return stored;
  }

  /**
   * Records deliveries in order inside the caller's transaction, in one statement, as {@link store}
   * does for each. Only the first delivery of a task in the list may be claimed (the others wait
   * behind it); claims stop where this instance would hold more task loops than it should.
   */
  async storeAll(em: EntityManager, list: NewDelivery[]): Promise<StoredDelivery[]> {
    if (!list.length) return [];
    const { insert, read } = this.prepareAll(list);
    return read(await this.db.query(em, insert));
  }

  /**
   * {@link storeAll} in two steps, for a caller that runs the insert together with other writes (see
   * `DatabaseGateway.writeAll`): the statement, and what the rows it returned mean. `list` is not empty.
   */
  prepareAll(list: NewDelivery[]): { insert: Statement; read(rows: Record<string, unknown>[]): StoredDelivery[] } {
    const started = this.scheduler.started;
    // Claimed for this instance in the same statement when no other delivery of the task is open. When
    // this instance already holds as many task loops as it should, the delivery stays unclaimed in the
    // database (the poll takes it later) instead of waiting in memory: a sustained burst then grows the
    // backlog table, not the heap.
    let room = this.scheduler.accepting ? this.scheduler.room() : 0;
    const seen = new Set<string>();
    const rows = list.map((d) => {
      const now = d.context.at.getTime();
      const listened = started && this.eventsOf(d).some((e) => this.registry.handlersOf(e).length > 0);
      const status: DeliveryStatus = started && !listened ? 'delivered' : 'pending';
      const first = !seen.has(d.taskId);
      if (status === 'pending') seen.add(d.taskId);
      const claim = status === 'pending' && first && room > 0;
      if (claim) room--;
      const lease = { owner: this.scheduler.instanceId, leaseUntil: now + this.options.delivery.leaseMs };
      return { ...d, status, now, context: JSON.stringify(d.context), claim: claim ? lease : undefined };
    });
    const read = (inserted: Record<string, unknown>[]) => {
      // RETURNING promises no order, but ids rise in the order the rows were inserted (the list's order),
      // so the rows sorted by id match the list.
      const ids = inserted
        .map((r) => ({ id: Number(r.id), owner: r.lease_owner as string | null }))
        .sort((a, b) => a.id - b.id);
      return rows.map((row, i): StoredDelivery => {
        if (row.status === 'delivered') return { state: 'delivered' };
        if (!ids[i].owner) return { state: 'pending', taskId: row.taskId };
        const { callbackId, taskId, eventType, context, callback } = list[i];
        return {
          state: 'claimed',
          row: { id: ids[i].id, callbackId, taskId, eventType, attempts: 0, succeeded: [], context, callback },
        };
      });
    };
    return { insert: deliverySql.insertMany(rows), read };
  }

  /**
   * After the commit of {@link store}'s transaction: runs a claimed delivery, or wakes the task's loop
   * for a pending one. A delivery recorded as delivered needs nothing, so a callback nobody listens to
   * costs no claim (starting a loop for it would also crowd real work out of the loop limit).
   */
  handOver(stored: StoredDelivery): Promise<void> {
    if (stored.state === 'delivered') return Promise.resolve();
    if (stored.state === 'claimed') return this.scheduler.kick(stored.row.taskId, stored.row);
    return this.scheduler.kick(stored.taskId);
  }

  private eventsOf(d: NewDelivery): string[] {
    if (d.callbackId === null) {
      return [d.eventType === RECOVERED_EVENT_TYPE ? RecordingEvents.FileRecovered : RecordingEvents.Stalled];
    }
    return [
      EVENT_NAME_BY_TYPE[d.eventType as keyof typeof EVENT_NAME_BY_TYPE],
      ...(d.context.transition ? [RecordingEvents.StatusChanged] : []),
    ];
  }
}
