import { Body, Controller, HttpCode, Post, Req, Type, UseFilters, UseGuards } from '@nestjs/common';
import { ApiReceiveRecordingCallback, ApiRecordingCallbackController } from '../openapi/api-docs.decorators';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import { CallbackBodyPipe } from './callback-body.pipe';
import { CallbackExceptionFilter } from './callback-exception.filter';
import { IngestService } from './ingest.service';
import type { IngestResult } from './ingest.service';
import { requestStart } from './request-timing';
import { SignatureGuard } from './signature.guard';

/**
 * The callback answer: `accepted` when newly stored, `duplicate` when it was stored before.
 *
 * @example
 * { "result": "accepted", "callbackId": 42 }
 */
export type CallbackAnswer = IngestResult;

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
      // A callback for another domain's task is refused by ingest (400; the exception filter logs it).
      const { result, callbackId } = await this.ingest.ingest(callback, request.body);
      this.telemetry.callback({
        result,
        status: 200,
        durationMs: performance.now() - requestStart(request),
        callbackId,
        taskId: callback.task_id,
        eventType: callback.event_type,
        publishDomain: callback.publish_domain,
      });
      return { result, callbackId };
    }
  }
  return RecordingCallbackController;
}
