import { Type } from 'class-transformer';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { STORABLE_TEXT } from '../protocol/storable-text';
import { DELIVERY_STATUSES } from './delivery.entity';
import type { DeliveryStatus } from './delivery.entity';

/**
 * Query parameters of `GET /recording-callbacks/deliveries`. Unknown parameters are refused (400).
 *
 * @example
 * GET /recording-callbacks/deliveries?status=dead&limit=50
 */
export class ListDeliveriesQuery {
  @ApiPropertyOptional({
    enum: DELIVERY_STATUSES,
    description: 'Only deliveries in this status (`dead`: dead letters)',
  })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;

  @ApiPropertyOptional({ description: 'Only deliveries of this task', maxLength: 256 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  @Matches(STORABLE_TEXT, { message: '$property must not contain NUL characters or unpaired surrogates' })
  taskId?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Page size' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: '`nextCursor` of the previous page', maxLength: 12 })
  @IsOptional()
  @IsString()
  @MaxLength(12)
  cursor?: string;
}
