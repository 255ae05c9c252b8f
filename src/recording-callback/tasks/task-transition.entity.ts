import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { RecordingEventType } from '../protocol/recording-event-type';
import { TaskStatus } from './task-status';

/**
 * One change of a task's status (from, to, the event that caused it, when).
 *
 * @example
 * const history = await repo.find({ where: { taskId }, order: { id: 'ASC' } });
 */
@Entity('recording_task_transitions', { synchronize: false })
@Index('idx_recording_task_transitions_task', ['taskId', 'id'])
export class TaskTransitionEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'task_id', type: 'varchar', length: 256 })
  taskId: string;

  @Column({ name: 'from_status', type: 'varchar', length: 16, nullable: true })
  fromStatus: TaskStatus | null;

  @Column({ name: 'to_status', type: 'varchar', length: 16 })
  toStatus: TaskStatus;

  @Column({ name: 'event_type', type: 'varchar', length: 32 })
  eventType: RecordingEventType;

  @Column({ name: 'job_id', type: 'varchar', length: 256, nullable: true })
  jobId: string | null;

  @Column({ name: 'callback_id', type: 'integer' })
  callbackId: number;

  @Column({ type: Date })
  at: Date;
}
