import { Equals, IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { RecordFormat, RecordingEventType } from '../recording-event-type';
import { MAX_ID_LENGTH, RecordCallbackBaseDto } from './record-callback-base.dto';

/**
 * RECORD_NEW_FILE_START: the task started writing a new file (`job_id`) in one format.
 *
 * @example
 * @OnEvent(RecordingEvents.NewFileStart) onFile(e: RecordNewFileStartEvent) { e.callback.job_id; }
 */
export class RecordNewFileStartDto extends RecordCallbackBaseDto {
  @Equals(RecordingEventType.NewFileStart)
  event_type: RecordingEventType.NewFileStart;

  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_ID_LENGTH)
  job_id: string;

  @IsIn(Object.values(RecordFormat))
  record_format: RecordFormat;
}
