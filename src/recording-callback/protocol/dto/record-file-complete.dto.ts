import { ApiProperty, ApiPropertyOptional } from '../optional-swagger';
import { Equals, IsInt, IsOptional, IsString, IsUrl, Max, Min } from 'class-validator';
import { RecordingEventType } from '../recording-event-type';
import { MAX_ID_LENGTH, MAX_INT32, MAX_URL_LENGTH } from './record-callback-base.dto';
import { RecordFileEventBaseDto } from './record-file-event-base.dto';
import { IsHuaweiTime, MaxChars } from './validators';

/**
 * RECORD_FILE_COMPLETE: one file of one format is finished and downloadable from `download_url`.
 *
 * @example
 * @OnEvent(RecordingEvents.FileComplete) onFile(e: RecordFileCompleteEvent) { fetch(e.callback.download_url); }
 */
export class RecordFileCompleteDto extends RecordFileEventBaseDto {
  @ApiProperty({
    enum: [RecordingEventType.FileComplete],
    description: 'Event type',
    example: RecordingEventType.FileComplete,
  })
  @Equals(RecordingEventType.FileComplete)
  event_type: RecordingEventType.FileComplete;

  @ApiProperty({
    format: 'uri',
    maxLength: MAX_URL_LENGTH,
    description: 'Where the file can be downloaded (http or https)',
    example:
      'https://obs.cn-north-4.myhuaweicloud.com/live/record-mystream-1583676625/record-push.example.com-live-mystream-1583676625.m3u8',
  })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxChars(MAX_URL_LENGTH)
  download_url: string;

  @ApiPropertyOptional({
    description: 'Media asset ID',
    maxLength: MAX_ID_LENGTH,
    example: '1a0d8e9bfae04c8a9be5021e62aa1e96',
  })
  @IsOptional()
  @IsString()
  @MaxChars(MAX_ID_LENGTH)
  asset_id?: string;

  @ApiPropertyOptional({
    description: 'Start of the recording, UTC, yyyy-mm-ddThh:mm:ssZ',
    pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$',
    example: '2020-03-08T14:10:25Z',
  })
  @IsOptional()
  @IsHuaweiTime()
  start_time?: string;

  @ApiPropertyOptional({
    description: 'End of the recording, UTC, yyyy-mm-ddThh:mm:ssZ',
    pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$',
    example: '2020-03-08T14:12:25Z',
  })
  @IsOptional()
  @IsHuaweiTime()
  end_time?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Video width in pixels', example: 1280 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_INT32)
  width?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Video height in pixels', example: 720 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_INT32)
  height?: number;

  @ApiPropertyOptional({ maxLength: MAX_URL_LENGTH, description: 'Playback URL (signed with HMACSHA256 when present)' })
  @IsOptional()
  @IsString()
  @MaxChars(MAX_URL_LENGTH)
  play_url?: string;

  @ApiPropertyOptional({ maxLength: MAX_ID_LENGTH, description: 'OBS region of the file', example: 'cn-north-4' })
  @IsOptional()
  @IsString()
  @MaxChars(MAX_ID_LENGTH)
  obs_location?: string;

  @ApiPropertyOptional({ maxLength: MAX_ID_LENGTH, description: 'OBS bucket of the file', example: 'live-record' })
  @IsOptional()
  @IsString()
  @MaxChars(MAX_ID_LENGTH)
  obs_bucket?: string;

  @ApiPropertyOptional({
    maxLength: MAX_URL_LENGTH,
    description: 'OBS object key of the file',
    example: 'live/record-mystream-1583676625/record-push.example.com-live-mystream-1583676625.m3u8',
  })
  @IsOptional()
  @IsString()
  @MaxChars(MAX_URL_LENGTH)
  obs_object?: string;
}
