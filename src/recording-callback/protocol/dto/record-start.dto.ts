import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Equals, IsIn, IsOptional } from 'class-validator';
import { RecordFormat, RecordingEventType } from '../recording-event-type';
import { RecordCallbackBaseDto } from './record-callback-base.dto';

/**
 * RECORD_START: a recording task began.
 *
 * @example
 * @OnEvent(RecordingEvents.Start) onStart(e: RecordStartEvent) { e.callback.task_id; }
 */
export class RecordStartDto extends RecordCallbackBaseDto {
  @ApiProperty({ enum: [RecordingEventType.Start], description: 'Event type', example: RecordingEventType.Start })
  @Equals(RecordingEventType.Start)
  event_type: RecordingEventType.Start;

  @ApiPropertyOptional({
    enum: RecordFormat,
    enumName: 'RecordFormat',
    description: 'Recording format',
    example: 'HLS',
  })
  @IsOptional()
  @IsIn(Object.values(RecordFormat))
  record_format?: RecordFormat;
}
