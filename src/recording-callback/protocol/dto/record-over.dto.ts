import { ApiProperty } from '../optional-swagger';
import { Equals } from 'class-validator';
import { RecordingEventType } from '../recording-event-type';
import { RecordTaskEventBaseDto } from './record-task-event-base.dto';

/**
 * RECORD_OVER: the stream stayed paused past the configured limit; the recording is finished.
 *
 * @example
 * @OnEvent(RecordingEvents.Over) onOver(e: RecordOverEvent) { e.task.status; // 'OVER' or 'FAILED' }
 */
export class RecordOverDto extends RecordTaskEventBaseDto {
  @ApiProperty({ enum: [RecordingEventType.Over], description: 'Event type', example: RecordingEventType.Over })
  @Equals(RecordingEventType.Over)
  event_type: RecordingEventType.Over;
}
