import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
  @ApiProperty({ enum: [RecordingEventType.Over], description: 'Event type', example: RecordingEventType.Over })
  @Equals(RecordingEventType.Over)
  event_type: RecordingEventType.Over;

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
