import { ApiProperty } from '../optional-swagger';
import { IsIn, IsNotEmpty, IsString } from 'class-validator';
import { MaxChars } from './validators';
import { RecordFormat } from '../recording-event-type';
import { MAX_ID_LENGTH, RecordCallbackBaseDto } from './record-callback-base.dto';

/**
 * Fields of the file events (RECORD_NEW_FILE_START, RECORD_FILE_COMPLETE): `job_id` and `record_format`
 * are required, since together with `task_id` they identify the file.
 *
 * @example
 * class RecordFileCompleteDto extends RecordFileEventBaseDto { ... }
 */
export abstract class RecordFileEventBaseDto extends RecordCallbackBaseDto {
  @ApiProperty({
    description: 'Name of the file (a UUID); one per file, shared by its formats',
    minLength: 1,
    maxLength: MAX_ID_LENGTH,
    example: 'dc0a1773-0cef-4c4b-9d2e-9a38fdb095d2',
  })
  @IsString()
  @IsNotEmpty()
  @MaxChars(MAX_ID_LENGTH)
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
