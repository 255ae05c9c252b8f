import { Equals, IsIn, IsOptional } from 'class-validator';
import { RecordFormat, RecordingEventType } from '../recording-event-type';
import { RecordCallbackBaseDto } from './record-callback-base.dto';

/**
 * RECORD_OVER: the stream stayed paused past the configured limit; the recording is finished.
 *
 * @example
 * @OnEvent(RecordingEvents.Over) onOver(e: RecordOverEvent) { e.task.status; // 'OVER' or 'FAILED' }
 */
export class RecordOverDto extends RecordCallbackBaseDto {
  @Equals(RecordingEventType.Over)
  event_type: RecordingEventType.Over;

  @IsOptional()
  @IsIn(Object.values(RecordFormat))
  record_format?: RecordFormat;
}
