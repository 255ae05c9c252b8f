import { ApiPropertyOptional } from '../protocol/optional-swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery, TextFilter } from './query-params';
import { TaskStatus } from './task-status';

/**
 * Query parameters of `GET /recording-tasks`. Unknown parameters are refused (400).
 *
 * @example
 * GET /recording-tasks?publishDomain=push.example.com&status=RECORDING&limit=50
 */
export class ListTasksQuery extends PageQuery {
  @TextFilter('Only tasks of this ingest domain', 'push.example.com')
  publishDomain?: string;

  @TextFilter('Only tasks of this app', 'live')
  app?: string;

  @TextFilter('Only tasks of this stream', 'mystream')
  stream?: string;

  @ApiPropertyOptional({ enum: Object.values(TaskStatus), description: 'Only tasks in this status' })
  @IsOptional()
  @IsIn(Object.values(TaskStatus))
  status?: TaskStatus;

  @ApiPropertyOptional({ description: '`nextCursor` of the previous page', maxLength: 600 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(600)
  cursor?: string;
}
