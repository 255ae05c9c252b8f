import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { DatabaseGateway } from '../storage/database.gateway';
import { DeliveryEntity } from './delivery.entity';
import type { DeliveryStatus } from './delivery.entity';
import { DeliveryScheduler } from './delivery-scheduler';
import { deliveryPage } from './delivery-list.sql';
import { MAX_DELIVERY_ID, deliverySql } from './delivery.sql';
import type { ReplayableStatus } from './delivery.sql';

/**
 * A delivery as the operations API shows it.
 *
 * @example
 * { id: 7, callbackId: 42, taskId: 't1', eventType: 'RECORD_OVER', status: 'dead', attempts: 8, ... }
 */
export interface DeliveryView {
  id: number;
  callbackId: number | null;
  taskId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  succeededHandlers: string[];
  createdAt: string;
  updatedAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

function toView(d: DeliveryEntity): DeliveryView {
  const open = d.status === 'pending' || d.status === 'failed';
  return {
    id: d.id,
    callbackId: d.callbackId,
    taskId: d.taskId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastError: d.lastError,
    nextAttemptAt: open ? iso(d.nextAttemptAt) : null,
    succeededHandlers: typeof d.succeededHandlers === 'string' ? JSON.parse(d.succeededHandlers) : d.succeededHandlers,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}

/**
 * Operations on deliveries: list them (newest first, keyset by id) and replay one.
 *
 * @example
 * const { items } = await deliveries.list({ status: 'dead', limit: 50 });
 */
@Injectable()
export class DeliveriesService {
  constructor(
    private readonly db: DatabaseGateway,
    private readonly scheduler: DeliveryScheduler,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  async list(q: { status?: DeliveryStatus; taskId?: string; limit?: number; cursor?: string }) {
    const limit = q.limit ?? 20;
    if (q.cursor !== undefined && !(/^\d{1,10}$/.test(q.cursor) && Number(q.cursor) <= MAX_DELIVERY_ID)) {
      throw InvalidFieldsException.field('cursor', 'cursor is not valid');
    }
    const cursor = q.cursor === undefined ? undefined : Number(q.cursor);
    const rows = await this.db.read((em) => deliveryPage(em, { ...q, cursor }, limit + 1));
    const page = rows.slice(0, limit);
    return { items: page.map(toView), nextCursor: rows.length > limit ? String(page[page.length - 1].id) : null };
  }

  /**
   * Makes a delivery due now with a fresh attempt count. Handlers that already succeeded are skipped,
   * except for a delivery that was fully delivered, which is handed to every handler again.
   */
  async replay(id: number): Promise<DeliveryView> {
    const notFound = () => new NotFoundException({ statusCode: 404, error: 'Not Found', message: `no delivery ${id}` });
    if (id > MAX_DELIVERY_ID) throw notFound();
    const now = this.options.now();
    const db = this.db;
    const row = await db.transaction(async (em) => {
      const [replayed] = await db.query(em, deliverySql.replay(now, { id }));
      return replayed ? em.getRepository(DeliveryEntity).findOneByOrFail({ id }) : undefined;
    });
    if (row) {
      void this.scheduler.kick(row.taskId);
      return toView(row);
    }
    const exists = await db.read((em) => em.getRepository(DeliveryEntity).existsBy({ id }));
    if (!exists) throw notFound();
    throw new ConflictException({
      statusCode: 409,
      error: 'Conflict',
      message: `delivery ${id} is running now; replay it once it has finished`,
    });
  }

  /**
   * Replays every delivery of a status (optionally of one task, and last changed at or after `since`)
   * in one statement, as {@link replay} does one; deliveries running now are left alone. Returns the
   * replayed deliveries, oldest first.
   *
   * @example
   * await deliveries.replayMatching({ status: 'dead', since: new Date('2026-12-01T00:00:00Z') });
   */
  async replayMatching(which: {
    status: ReplayableStatus;
    taskId?: string;
    since?: Date;
  }): Promise<Array<{ id: number; taskId: string; eventType: string }>> {
    const now = this.options.now();
    const filter = { status: which.status, taskId: which.taskId, since: which.since?.getTime() };
    const rows = await this.db.transaction((em) => this.db.query(em, deliverySql.replay(now, filter)));
    const replayed = rows
      .map((r) => ({ id: Number(r.id), taskId: String(r.task_id), eventType: String(r.event_type) }))
      .sort((a, b) => a.id - b.id);
    for (const taskId of new Set(replayed.map((r) => r.taskId))) void this.scheduler.kick(taskId);
    return replayed;
  }
}
