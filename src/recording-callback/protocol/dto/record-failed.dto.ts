import { Equals, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { RecordFormat, RecordingEventType } from '../recording-event-type';
import { RecordCallbackBaseDto } from './record-callback-base.dto';

/** Longest accepted `error_message`. */
export const MAX_ERROR_MESSAGE_LENGTH = 4096;

/**
 * RECORD_FAILED: pulling the stream or uploading to OBS failed.
 *
 * @example
 * @OnEvent(RecordingEvents.Failed) onFailed(e: RecordFailedEvent) { alert(e.callback.error_message); }
 */
export class RecordFailedDto extends RecordCallbackBaseDto {
  @Equals(RecordingEventType.Failed)
  event_type: RecordingEventType.Failed;

  @IsOptional()
  @IsIn(Object.values(RecordFormat))
  record_format?: RecordFormat;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_ERROR_MESSAGE_LENGTH)
  error_message?: string;
}
