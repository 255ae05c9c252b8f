import { Body, Controller, HttpCode, Post, Req, Type, UseGuards } from '@nestjs/common';
import { DeliveryWorker } from '../delivery/delivery-worker.service';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { CallbackBodyPipe } from './callback-body.pipe';
import { IngestService } from './ingest.service';
import { SignatureGuard } from './signature.guard';

/**
 * The callback answer: `accepted` when newly stored, `duplicate` when it was stored before.
 *
 * @example
 * { "result": "accepted", "callbackId": 42 }
 */
export interface CallbackAnswer {
  result: 'accepted' | 'duplicate';
  callbackId: number;
}

/**
 * Creates the callback controller at the configured path (a class per path, so Nest's own
 * `@Controller(path)` sets the route instead of metadata edited by hand).
 *
 * @example
 * const Controller = createRecordingCallbackController('hooks/huawei');
 */
export function createRecordingCallbackController(path: string): Type<unknown> {
  @Controller(path)
  class RecordingCallbackController {
    constructor(
      private readonly ingest: IngestService,
      private readonly deliveries: DeliveryWorker,
    ) {}

    @Post()
    @HttpCode(200)
    @UseGuards(SignatureGuard)
    async receive(
      @Body(CallbackBodyPipe) callback: RecordingCallbackDto,
      @Req() request: { body: Record<string, unknown> },
    ): Promise<CallbackAnswer> {
      const outcome = await this.ingest.ingest(callback, request.body);
      // Handlers run after the commit made the callback and its delivery durable; they never change
      // this answer, and a failure is retried from the stored delivery.
      if (outcome.result === 'accepted') void this.deliveries.kick(outcome.task.taskId);
      return { result: outcome.result, callbackId: outcome.callbackId };
    }
  }
  return RecordingCallbackController;
}
