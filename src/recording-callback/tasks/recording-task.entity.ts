import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { RecordingEventType } from '../protocol/recording-event-type';
import { TaskStatus } from './task-status';

/**
 * One recording task (`task_id`) and its reduced state.
 * Indexes serve the list query's filters with its keyset order (created_at DESC, task_id DESC).
 *
 * @example
 * const task = await dataSource.getRepository(RecordingTaskEntity).findOneBy({ taskId });
 */
@Entity('recording_tasks', { synchronize: false })
@Index('idx_recording_tasks_created', ['createdAt', 'taskId'])
@Index('idx_recording_tasks_stream', ['publishDomain', 'app', 'stream', 'createdAt', 'taskId'])
@Index('idx_recording_tasks_status', ['status', 'createdAt', 'taskId'])
export class RecordingTaskEntity {
  @PrimaryColumn({ name: 'task_id', type: 'varchar', length: 256 })
  taskId: string;

  @Column({ name: 'project_id', type: 'varchar', length: 256, nullable: true })
  projectId: string | null;

  @Column({ name: 'publish_domain', type: 'varchar', length: 256 })
  publishDomain: string;

  @Column({ type: 'varchar', length: 256 })
  app: string;

  @Column({ type: 'varchar', length: 256 })
  stream: string;

  @Column({ name: 'record_format', type: 'varchar', length: 8, nullable: true })
  recordFormat: string | null;

  /** Null only inside the transaction that creates the row. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  status: TaskStatus | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ name: 'last_event_type', type: 'varchar', length: 32, nullable: true })
  lastEventType: RecordingEventType | null;

  @Column({ name: 'last_event_at', type: Date, nullable: true })
  lastEventAt: Date | null;

  /** Set by the stalled-task watchdog; cleared by the task's next callback. */
  @Column({ name: 'stalled_at', type: Date, nullable: true })
  stalledAt: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt: Date;
}
