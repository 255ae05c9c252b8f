import { ApiProperty } from '@nestjs/swagger';
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
  @ApiProperty({
    enum: [RecordingEventType.NewFileStart],
    description: 'Event type',
    example: RecordingEventType.NewFileStart,
  })
  @Equals(RecordingEventType.NewFileStart)
  event_type: RecordingEventType.NewFileStart;

  @ApiProperty({
    description: 'Name of the file (a UUID); one per file, shared by its formats',
    minLength: 1,
    maxLength: MAX_ID_LENGTH,
    example: 'dc0a1773-0cef-4c4b-9d2e-9a38fdb095d2',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_ID_LENGTH)
  job_id: string;

  @ApiProperty({
    enum: RecordFormat,
    enumName: 'RecordFormat',
    description: 'Recording format; with job_id it identifies the file',
    example: 'HLS',
  })
  @IsIn(Object.values(RecordFormat))
  record_format: RecordFormat;
}
