import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';
import { FileStatus } from './task-status';

/**
 * One recorded file: a (task_id, job_id, record_format) triple, since one job yields a file per format.
 *
 * @example
 * const files = await repo.find({ where: { taskId }, order: { id: 'ASC' } });
 */
@Entity('recording_files', { synchronize: false })
@Index('uq_recording_files_key', ['taskId', 'jobId', 'recordFormat'], { unique: true })
export class RecordingFileEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'task_id', type: 'varchar', length: 256 })
  taskId: string;

  @Column({ name: 'job_id', type: 'varchar', length: 256 })
  jobId: string;

  @Column({ name: 'record_format', type: 'varchar', length: 8 })
  recordFormat: string;

  @Column({ type: 'varchar', length: 16 })
  status: FileStatus;

  @Column({ name: 'download_url', type: 'varchar', length: 2048, nullable: true })
  downloadUrl: string | null;

  @Column({ name: 'asset_id', type: 'varchar', length: 256, nullable: true })
  assetId: string | null;

  @Column({ name: 'file_size', type: 'bigint', nullable: true, transformer: bigintToNumber })
  fileSize: number | null;

  @Column({ name: 'record_duration', type: 'integer', nullable: true })
  recordDuration: number | null;

  @Column({ name: 'start_time', type: Date, nullable: true })
  startTime: Date | null;

  @Column({ name: 'end_time', type: Date, nullable: true })
  endTime: Date | null;

  @Column({ type: 'integer', nullable: true })
  width: number | null;

  @Column({ type: 'integer', nullable: true })
  height: number | null;

  /** `callback` for files a callback reported, `reconciled` for files recovered from Huawei's listing. */
  @Column({ type: 'varchar', length: 16, default: 'callback' })
  source: 'callback' | 'reconciled';

  /** For recovered files: SHA-256 of the download URL (or OBS object), unique; null otherwise. */
  @Column({ name: 'recovery_key', type: 'varchar', length: 64, nullable: true })
  recoveryKey: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt: Date;
}
