import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { RecordingEventType } from '../protocol/recording-event-type';

/**
 * A received callback, stored once. `dedupeKey` is a hash of its content less `auth_sign` and
 * `auth_timestamp`, so a re-sent callback is recognised as a duplicate. `id` is the stable callback id
 * handed to event handlers, and increases in the order callbacks of one task were stored.
 *
 * @example
 * const stored = await repo.findOneBy({ id: event.callbackId });
 */
@Entity('recording_callbacks', { synchronize: false })
@Index('uq_recording_callbacks_dedupe', ['dedupeKey'], { unique: true })
@Index('idx_recording_callbacks_task', ['taskId', 'id'])
export class StoredCallbackEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'dedupe_key', type: 'varchar', length: 64 })
  dedupeKey: string;

  @Column({ name: 'task_id', type: 'varchar', length: 256 })
  taskId: string;

  @Column({ name: 'event_type', type: 'varchar', length: 32 })
  eventType: RecordingEventType;

  @Column({ name: 'job_id', type: 'varchar', length: 256, nullable: true })
  jobId: string | null;

  @Column({ name: 'publish_domain', type: 'varchar', length: 256 })
  publishDomain: string;

  /** The body as received, less `auth_sign`; unknown fields included. */
  @Column({ type: 'json' })
  payload: Record<string, unknown>;

  @Column({ name: 'received_at', type: Date })
  receivedAt: Date;
}
