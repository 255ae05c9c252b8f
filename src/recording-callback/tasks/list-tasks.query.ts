import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { TaskStatus } from './task-status';

/**
 * Query parameters of `GET /recording-tasks`. Unknown parameters are refused (400).
 *
 * @example
 * GET /recording-tasks?publishDomain=push.example.com&status=RECORDING&limit=50
 */
export class ListTasksQuery {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256)
  publishDomain?: string;

  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256)
  app?: string;

  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256)
  stream?: string;

  @IsOptional() @IsIn(Object.values(TaskStatus))
  status?: TaskStatus;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit?: number;

  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(600)
  cursor?: string;
}
