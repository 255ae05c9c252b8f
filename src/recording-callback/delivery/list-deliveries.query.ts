import { ApiPropertyOptional } from '../protocol/optional-swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery, TextFilter } from '../tasks/query-params';
import { DELIVERY_STATUSES } from './delivery.entity';
import type { DeliveryStatus } from './delivery.entity';

/**
 * Query parameters of `GET /recording-callbacks/deliveries`. Unknown parameters are refused (400).
 *
 * @example
 * GET /recording-callbacks/deliveries?status=dead&limit=50
 */
export class ListDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({
    enum: DELIVERY_STATUSES,
    description: 'Only deliveries in this status (`dead`: dead letters)',
  })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;

  @TextFilter('Only deliveries of this task', '51126d0ebe94b1da00d2e21a10abcdef')
  taskId?: string;

  @ApiPropertyOptional({ description: '`nextCursor` of the previous page', maxLength: 12 })
  @IsOptional()
  @IsString()
  @MaxLength(12)
  cursor?: string;
}
