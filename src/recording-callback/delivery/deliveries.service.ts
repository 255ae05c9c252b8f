import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { WriteTransactions } from '../tasks/write-transactions';
import { DeliveryEntity } from './delivery.entity';
import type { DeliveryStatus } from './delivery.entity';
import { DeliveryWorker } from './delivery-worker.service';
import { MAX_DELIVERY_ID, replayStatement } from './replay-statement';

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
    private readonly writes: WriteTransactions,
    private readonly worker: DeliveryWorker,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  async list(q: { status?: DeliveryStatus; taskId?: string; limit?: number; cursor?: string }) {
    const limit = q.limit ?? 20;
    if (q.cursor !== undefined && !(/^\d{1,10}$/.test(q.cursor) && Number(q.cursor) <= MAX_DELIVERY_ID)) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'cursor is not valid',
        fields: { cursor: ['cursor is not valid'] },
      });
    }
    const rows = await this.writes.forRequest((em) => {
      const qb = em.getRepository(DeliveryEntity).createQueryBuilder('d').where('1 = 1');
      if (q.status) qb.andWhere('d.status = :status', { status: q.status });
      if (q.taskId) qb.andWhere('d.task_id = :taskId', { taskId: q.taskId });
      if (q.cursor !== undefined) qb.andWhere('d.id < :cursor', { cursor: Number(q.cursor) });
      return qb
        .orderBy('d.id', 'DESC')
        .limit(limit + 1)
        .getMany();
    });
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
    const w = this.writes;
    const row = await w.forRequest(async (em) => {
      const [replayed] = await w.rows(em, replayStatement(w.concurrent, 'id = ?'), [now, now, id, now]);
      return replayed ? em.getRepository(DeliveryEntity).findOneByOrFail({ id }) : undefined;
    }, true);
    if (row) {
      void this.worker.kick(row.taskId);
      return toView(row);
    }
    const exists = await w.forRequest((em) => em.getRepository(DeliveryEntity).existsBy({ id }));
    if (!exists) throw notFound();
    throw new ConflictException({
      statusCode: 409,
      error: 'Conflict',
      message: `delivery ${id} is running now; replay it once it has finished`,
    });
  }
}
