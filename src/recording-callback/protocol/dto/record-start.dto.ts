import { ApiProperty } from '../optional-swagger';
import { Equals } from 'class-validator';
import { RecordingEventType } from '../recording-event-type';
import { RecordTaskEventBaseDto } from './record-task-event-base.dto';

/**
 * RECORD_START: a recording task began.
 *
 * @example
 * @OnEvent(RecordingEvents.Start) onStart(e: RecordStartEvent) { e.callback.task_id; }
 */
export class RecordStartDto extends RecordTaskEventBaseDto {
  @ApiProperty({ enum: [RecordingEventType.Start], description: 'Event type', example: RecordingEventType.Start })
  @Equals(RecordingEventType.Start)
  event_type: RecordingEventType.Start;
}
