import { ApiPropertyOptional } from '../optional-swagger';
import { IsIn, IsOptional } from 'class-validator';
import { RecordFormat } from '../recording-event-type';
import { RecordCallbackBaseDto } from './record-callback-base.dto';

/**
 * Fields of the task-level events (RECORD_START, RECORD_OVER, RECORD_FAILED), where `record_format` is
 * informative and may be missing.
 *
 * @example
 * class RecordOverDto extends RecordTaskEventBaseDto { ... }
 */
export abstract class RecordTaskEventBaseDto extends RecordCallbackBaseDto {
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
