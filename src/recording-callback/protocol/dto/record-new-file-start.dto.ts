import { ApiProperty } from '../optional-swagger';
import { Equals } from 'class-validator';
import { RecordingEventType } from '../recording-event-type';
import { RecordFileEventBaseDto } from './record-file-event-base.dto';

/**
 * RECORD_NEW_FILE_START: the task started writing a new file (`job_id`) in one format.
 *
 * @example
 * @OnEvent(RecordingEvents.NewFileStart) onFile(e: RecordNewFileStartEvent) { e.callback.job_id; }
 */
export class RecordNewFileStartDto extends RecordFileEventBaseDto {
  @ApiProperty({
    enum: [RecordingEventType.NewFileStart],
    description: 'Event type',
    example: RecordingEventType.NewFileStart,
  })
  @Equals(RecordingEventType.NewFileStart)
  event_type: RecordingEventType.NewFileStart;
}
