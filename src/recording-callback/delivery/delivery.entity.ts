import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from '../tasks/column-transformers';

/**
 * Where a delivery stands: `pending` (not tried yet, or replayed), `failed` (a handler failed; retried at
 * `nextAttemptAt`), `delivered` (every handler succeeded), `dead` (attempts used up; replay it by hand).
 *
 * @example
 * GET /recording-callbacks/deliveries?status=dead
 */
export type DeliveryStatus = 'pending' | 'failed' | 'delivered' | 'dead';

/** Every delivery status, for validation. */
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'failed', 'delivered', 'dead'];

/**
 * The hand-over of one stored callback (or one stall notice) to the app's handlers, written in the same
 * transaction as the callback. Times are epoch milliseconds, so claims compare plain integers on both
 * databases. `leaseOwner`/`leaseUntil` mark the instance running it; an expired lease may be taken over.
 *
 * @example
 * const dead = await repo.find({ where: { status: 'dead' } });
 */
@Entity('recording_deliveries', { synchronize: false })
@Index('idx_recording_deliveries_task', ['taskId', 'id'])
@Index('idx_recording_deliveries_due', ['status', 'nextAttemptAt'])
export class DeliveryEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  /** The stored callback; null for a stall notice. */
  @Column({ name: 'callback_id', type: 'integer', nullable: true })
  callbackId: number | null;

  @Column({ name: 'task_id', type: 'varchar', length: 256 })
  taskId: string;

  /** A Huawei event type, or `STALLED`. */
  @Column({ name: 'event_type', type: 'varchar', length: 32 })
  eventType: string;

  @Column({ type: 'varchar', length: 16 })
  status: DeliveryStatus;

  @Column({ type: 'integer' })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'bigint', transformer: bigintToNumber })
  nextAttemptAt: number;

  @Column({ name: 'lease_owner', type: 'varchar', length: 64, nullable: true })
  leaseOwner: string | null;

  @Column({ name: 'lease_until', type: 'bigint', nullable: true, transformer: bigintToNumber })
  leaseUntil: number | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** Ids (`Class.method@event`) of handlers that already succeeded; a retry skips them. */
  @Column({ name: 'succeeded_handlers', type: 'json' })
  succeededHandlers: string[];

  /** Task state, file state and transition right after the callback, for rebuilding the payloads. */
  @Column({ type: 'json' })
  context: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintToNumber })
  createdAt: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: bigintToNumber })
  updatedAt: number;
}
