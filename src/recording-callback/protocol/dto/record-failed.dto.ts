import { ApiProperty, ApiPropertyOptional } from '../optional-swagger';
import { Equals, IsOptional, IsString } from 'class-validator';
import { MaxChars } from './validators';
import { RecordingEventType } from '../recording-event-type';
import { RecordTaskEventBaseDto } from './record-task-event-base.dto';

/** Longest accepted `error_message`. */
export const MAX_ERROR_MESSAGE_LENGTH = 4096;

/**
 * RECORD_FAILED: pulling the stream or uploading to OBS failed.
 *
 * @example
 * @OnEvent(RecordingEvents.Failed) onFailed(e: RecordFailedEvent) { alert(e.callback.error_message); }
 */
export class RecordFailedDto extends RecordTaskEventBaseDto {
  @ApiProperty({ enum: [RecordingEventType.Failed], description: 'Event type', example: RecordingEventType.Failed })
  @Equals(RecordingEventType.Failed)
  event_type: RecordingEventType.Failed;

  @ApiPropertyOptional({
    description: 'Why the recording failed',
    maxLength: MAX_ERROR_MESSAGE_LENGTH,
    example: 'failed to pull the stream from the origin',
  })
  @IsOptional()
  @IsString()
  @MaxChars(MAX_ERROR_MESSAGE_LENGTH)
  error_message?: string;
}
