import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from '../tasks/column-transformers';

/** Where a reconciliation run stands. */
export type ReconcileRunStatus = 'running' | 'succeeded' | 'failed';

/**
 * One reconciliation run: its window, the instance holding its lease, and what it counted. Times are
 * epoch milliseconds.
 *
 * @example
 * const last = await repo.findOne({ where: { status: 'succeeded' }, order: { id: 'DESC' } });
 */
@Entity('recording_reconcile_runs', { synchronize: false })
@Index('idx_recording_reconcile_runs_status', ['status', 'id'])
export class ReconcileRunEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'window_start', type: 'bigint', transformer: bigintToNumber })
  windowStart: number;

  @Column({ name: 'window_end', type: 'bigint', transformer: bigintToNumber })
  windowEnd: number;

  @Column({ type: 'varchar', length: 16 })
  status: ReconcileRunStatus;

  @Column({ name: 'lease_owner', type: 'varchar', length: 64 })
  leaseOwner: string;

  @Column({ name: 'lease_until', type: 'bigint', transformer: bigintToNumber })
  leaseUntil: number;

  @Column({ name: 'started_at', type: 'bigint', transformer: bigintToNumber })
  startedAt: number;

  @Column({ name: 'finished_at', type: 'bigint', nullable: true, transformer: bigintToNumber })
  finishedAt: number | null;

  @Column({ type: 'integer' })
  listed: number;

  @Column({ type: 'integer' })
  matched: number;

  @Column({ type: 'integer' })
  recovered: number;

  @Column({ type: 'integer' })
  stalled: number;

  /** JSON array of error lines. */
  @Column({ type: 'text', nullable: true })
  errors: string | null;
}
