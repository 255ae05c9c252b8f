import {
  Controller,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Post,
  Query,
  Type,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { RecordingExceptionFilter } from '../errors/recording-exception.filter';
import { ApiDeliveriesController, ApiListDeliveries, ApiReplayDelivery } from '../openapi/api-docs.decorators';
import { OperationAccessGuard, QueryAccessGuard } from '../tasks/query-access.guard';
import { strictQueryPipe } from '../tasks/strict-query.pipe';
import { DeliveriesService } from './deliveries.service';
import type { DeliveryView } from './deliveries.service';
import { ListDeliveriesQuery } from './list-deliveries.query';

/**
 * Creates the delivery operations controller (`<callbackPath>/deliveries`): the list is guarded by
 * `queryGuards`, replay by `operationGuards` (never open: 403 with none configured).
 *
 * @example
 * const Controller = createDeliveriesController('recording-callbacks/deliveries');
 */
export function createDeliveriesController(path: string): Type<unknown> {
  @Controller(path)
  @ApiDeliveriesController()
  @UseFilters(RecordingExceptionFilter)
  class DeliveriesController {
    constructor(private readonly deliveries: DeliveriesService) {}

    @Get()
    @UseGuards(QueryAccessGuard)
    @ApiListDeliveries()
    list(
      @Query(strictQueryPipe) query: ListDeliveriesQuery,
    ): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
      return this.deliveries.list(query);
    }

    @Post(':id/replay')
    @UseGuards(OperationAccessGuard)
    @ApiReplayDelivery()
    @HttpCode(202)
    replay(@Param('id', new ParseIntPipe()) id: number): Promise<DeliveryView> {
      return this.deliveries.replay(id);
    }
  }
  return DeliveriesController;
}
