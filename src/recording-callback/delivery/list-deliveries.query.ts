import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DELIVERY_STATUSES } from './delivery.entity';
import type { DeliveryStatus } from './delivery.entity';

/**
 * Query parameters of `GET /recording-callbacks/deliveries`. Unknown parameters are refused (400).
 *
 * @example
 * GET /recording-callbacks/deliveries?status=dead&limit=50
 */
export class ListDeliveriesQuery {
  @IsOptional() @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;

  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256)
  taskId?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit?: number;

  @IsOptional() @IsString() @MaxLength(12)
  cursor?: string;
}
