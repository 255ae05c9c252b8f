import { Type } from 'class-transformer';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { STORABLE_TEXT } from '../protocol/storable-text';
import { TaskStatus } from './task-status';

/**
 * Query parameters of `GET /recording-tasks`. Unknown parameters are refused (400).
 *
 * @example
 * GET /recording-tasks?publishDomain=push.example.com&status=RECORDING&limit=50
 */
export class ListTasksQuery {
  @ApiPropertyOptional({ description: 'Only tasks of this ingest domain', maxLength: 256, example: 'push.example.com' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  @Matches(STORABLE_TEXT, { message: '$property must not contain NUL characters or unpaired surrogates' })
  publishDomain?: string;

  @ApiPropertyOptional({ description: 'Only tasks of this app', maxLength: 256, example: 'live' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  @Matches(STORABLE_TEXT, { message: '$property must not contain NUL characters or unpaired surrogates' })
  app?: string;

  @ApiPropertyOptional({ description: 'Only tasks of this stream', maxLength: 256, example: 'mystream' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  @Matches(STORABLE_TEXT, { message: '$property must not contain NUL characters or unpaired surrogates' })
  stream?: string;

  @ApiPropertyOptional({ enum: Object.values(TaskStatus), description: 'Only tasks in this status' })
  @IsOptional()
  @IsIn(Object.values(TaskStatus))
  status?: TaskStatus;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Page size' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: '`nextCursor` of the previous page', maxLength: 600 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(600)
  cursor?: string;
}
