import { Equals, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, IsUrl, MaxLength, Min } from 'class-validator';
import { RecordFormat, RecordingEventType } from '../recording-event-type';
import { MAX_ID_LENGTH, MAX_URL_LENGTH, RecordCallbackBaseDto } from './record-callback-base.dto';
import { IsHuaweiTime } from './validators';

/**
 * RECORD_FILE_COMPLETE: one file of one format is finished and downloadable from `download_url`.
 *
 * @example
 * @OnEvent(RecordingEvents.FileComplete) onFile(e: RecordFileCompleteEvent) { fetch(e.callback.download_url); }
 */
export class RecordFileCompleteDto extends RecordCallbackBaseDto {
  @Equals(RecordingEventType.FileComplete)
  event_type: RecordingEventType.FileComplete;

  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_ID_LENGTH)
  job_id: string;

  @IsIn(Object.values(RecordFormat))
  record_format: RecordFormat;

  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(MAX_URL_LENGTH)
  download_url: string;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  asset_id?: string;

  @IsOptional()
  @IsHuaweiTime()
  start_time?: string;

  @IsOptional()
  @IsHuaweiTime()
  end_time?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  width?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  height?: number;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_URL_LENGTH)
  play_url?: string;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  obs_location?: string;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  obs_bucket?: string;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_URL_LENGTH)
  obs_object?: string;
}
