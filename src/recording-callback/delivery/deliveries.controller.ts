import { Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query, Type, UseGuards } from '@nestjs/common';
import { ApiDeliveriesController, ApiListDeliveries, ApiReplayDelivery } from '../openapi/api-docs.decorators';
import { QueryAccessGuard } from '../tasks/query-access.guard';
import { strictQueryPipe } from '../tasks/strict-query.pipe';
import { DeliveriesService } from './deliveries.service';
import type { DeliveryView } from './deliveries.service';
import { ListDeliveriesQuery } from './list-deliveries.query';

/**
 * Creates the delivery operations controller (`<callbackPath>/deliveries`), guarded by `queryGuards`.
 *
 * @example
 * const Controller = createDeliveriesController('recording-callbacks/deliveries');
 */
export function createDeliveriesController(path: string): Type<unknown> {
  @Controller(path)
  @ApiDeliveriesController()
  @UseGuards(QueryAccessGuard)
  class DeliveriesController {
    constructor(private readonly deliveries: DeliveriesService) {}

    @Get()
    @ApiListDeliveries()
    list(
      @Query(strictQueryPipe) query: ListDeliveriesQuery,
    ): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
      return this.deliveries.list(query);
    }

    @Post(':id/replay')
    @ApiReplayDelivery()
    @HttpCode(202)
    replay(@Param('id', new ParseIntPipe()) id: number): Promise<DeliveryView> {
      return this.deliveries.replay(id);
    }
  }
  return DeliveriesController;
}
