import { Body, Controller, HttpCode, Post, Req, Type, UseFilters, UseGuards } from '@nestjs/common';
import { DeliveryWorker } from '../delivery/delivery-worker.service';
import { ApiReceiveRecordingCallback, ApiRecordingCallbackController } from '../openapi/api-docs.decorators';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import { CallbackBodyPipe } from './callback-body.pipe';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';
import { CallbackExceptionFilter } from './callback-exception.filter';
import { IngestService } from './ingest.service';
import { requestStart } from './request-timing';
import { SignatureGuard } from './signature.guard';

/** A value for the mismatch message, cut so that all three fit in the 200 characters a problem may have. */
const quoted = (value: string) => JSON.stringify(value.length > 48 ? `${value.slice(0, 48)}…` : value);

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
  @ApiRecordingCallbackController()
  @UseFilters(CallbackExceptionFilter)
  class RecordingCallbackController {
    constructor(
      private readonly ingest: IngestService,
      private readonly deliveries: DeliveryWorker,
      private readonly telemetry: RecordingTelemetry,
    ) {}

    @Post()
    @ApiReceiveRecordingCallback()
    @HttpCode(200)
    @UseGuards(SignatureGuard)
    async receive(
      @Body(CallbackBodyPipe) callback: RecordingCallbackDto,
      @Req() request: { body: Record<string, unknown> },
    ): Promise<CallbackAnswer> {
      const outcome = await this.ingest.ingest(callback, request.body);
      if (outcome.result === 'mismatch') {
        // Both values are named, so the operator can tell a misrouted domain from a squatted task id
        // (docs/production.md); the exception filter logs the message as an invalid callback.
        throw new InvalidFieldsException(
          Object.fromEntries(
            outcome.fields.map(({ field, given, stored }) => [
              field,
              [
                `${field} ${quoted(given)} differs from ${quoted(stored)}, the ${field} of task ${quoted(callback.task_id)}`,
              ],
            ]),
          ),
        );
      }
      this.telemetry.callback({
        result: outcome.result,
        status: 200,
        durationMs: performance.now() - requestStart(request),
        callbackId: outcome.callbackId,
        taskId: callback.task_id,
        eventType: callback.event_type,
        publishDomain: callback.publish_domain,
      });
      // Handlers run after the commit made the callback and its delivery durable; they never change
      // this answer, and a failure is retried from the stored delivery.
      if (outcome.result === 'accepted') void this.deliveries.handOver(callback.task_id, outcome.delivery);
      return { result: outcome.result, callbackId: outcome.callbackId };
    }
  }
  return RecordingCallbackController;
}
