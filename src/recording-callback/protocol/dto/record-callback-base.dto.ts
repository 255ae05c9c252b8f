import { ApiProperty, ApiPropertyOptional } from '../optional-swagger';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import { MaxChars } from './validators';
import { RecordFormat, RecordingEventType } from '../recording-event-type';

/** Longest accepted identifier (task_id, job_id, project_id, names). */
export const MAX_ID_LENGTH = 256;
/** Longest accepted URL. */
export const MAX_URL_LENGTH = 2048;
/** Largest value of 32-bit integer fields (durations, dimensions), as the columns store them. */
export const MAX_INT32 = 2_147_483_647;

/**
 * Fields every Huawei Live recording callback may carry. Field names stay snake_case, as on the wire.
 * Fields Huawei adds later are kept on the instance (and in the stored payload), never rejected.
 *
 * @example
 * const dto = toDtoInstance(RecordStartDto, body); // a subclass of this
 */
export abstract class RecordCallbackBaseDto {
  abstract event_type: RecordingEventType;

  @ApiPropertyOptional({
    description: 'Project ID',
    maxLength: MAX_ID_LENGTH,
    example: '70b76c1e9d2a4f3b880af501cd7e4a21',
  })
  @IsOptional()
  @IsString()
  @MaxChars(MAX_ID_LENGTH)
  project_id?: string;

  @ApiProperty({
    description: 'Recording task ID, unique per recording task',
    minLength: 1,
    maxLength: MAX_ID_LENGTH,
    example: '51126d0ebe94b1da00d2e21a10c3b7f2',
  })
  @IsString()
  @IsNotEmpty()
  @MaxChars(MAX_ID_LENGTH)
  task_id: string;

  @ApiProperty({
    description: 'Ingest domain name',
    minLength: 1,
    maxLength: MAX_ID_LENGTH,
    example: 'push.example.com',
  })
  @IsString()
  @IsNotEmpty()
  @MaxChars(MAX_ID_LENGTH)
  publish_domain: string;

  @ApiProperty({ description: 'Application name', minLength: 1, maxLength: MAX_ID_LENGTH, example: 'live' })
  @IsString()
  @IsNotEmpty()
  @MaxChars(MAX_ID_LENGTH)
  app: string;

  @ApiProperty({ description: 'Stream name', minLength: 1, maxLength: MAX_ID_LENGTH, example: 'mystream' })
  @IsString()
  @IsNotEmpty()
  @MaxChars(MAX_ID_LENGTH)
  stream: string;

  /** Optional here; the file events declare it required, since it identifies the file. */
  abstract record_format?: RecordFormat;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'File size in bytes', example: 3957964 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  file_size?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Recording duration in seconds', example: 120 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_INT32)
  record_duration?: number;

  /** Checked by the signature guard, not here; kept optional so `auth: 'none'` works. */
  @ApiPropertyOptional({
    description:
      'Signature, lowercase hex. MD5: MD5(key + auth_timestamp). HMACSHA256: HMAC-SHA256(key, auth_timestamp + ' +
      'event_type + publish_domain + app + stream + download_url + play_url). Required unless authentication is off.',
    pattern: '^[0-9a-fA-F]{32}([0-9a-fA-F]{32})?$',
    example: '4f97f46759a0c1e2d3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e',
  })
  @IsOptional()
  auth_sign?: string;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Unix seconds; accepted while now <= auth_timestamp + tolerance (300 s by default)',
    example: 1583676745,
  })
  @IsOptional()
  auth_timestamp?: number;

  /** Unknown fields Huawei may add. */
  [extra: string]: unknown;
}
