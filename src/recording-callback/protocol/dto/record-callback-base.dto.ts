import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { RecordFormat, RecordingEventType } from '../recording-event-type';

/** Longest accepted identifier (task_id, job_id, project_id, names). */
export const MAX_ID_LENGTH = 256;
/** Longest accepted URL. */
export const MAX_URL_LENGTH = 2048;

/**
 * Fields every Huawei Live recording callback may carry. Field names stay snake_case, as on the wire.
 * Fields Huawei adds later are kept on the instance (and in the stored payload), never rejected.
 *
 * @example
 * const dto = plainToInstance(RecordStartDto, body); // a subclass of this
 */
export abstract class RecordCallbackBaseDto {
  abstract event_type: RecordingEventType;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  project_id?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_ID_LENGTH)
  task_id: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_ID_LENGTH)
  publish_domain: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_ID_LENGTH)
  app: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_ID_LENGTH)
  stream: string;

  /** Optional here; the file events declare it required, since it identifies the file. */
  abstract record_format?: RecordFormat;

  @IsOptional()
  @IsInt()
  @Min(0)
  file_size?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  record_duration?: number;

  /** Checked by the signature guard, not here; kept optional so `auth: 'none'` works. */
  @IsOptional()
  auth_sign?: string;

  @IsOptional()
  auth_timestamp?: number;

  /** Unknown fields Huawei may add. */
  [extra: string]: unknown;
}
