import { ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import type { CallbackOutcome } from '../telemetry/recording-telemetry';
import { RecordingSignatureException } from './signature.exception';
import { requestStart } from './request-timing';

function resultOf(status: number): CallbackOutcome['result'] {
  if (status === 401) return 'rejected';
  if (status === 400) return 'invalid';
  if (status === 503) return 'unavailable';
  return 'error';
}

/**
 * Records refused callbacks (401, 400, 503) in the telemetry, then answers as Nest normally does.
 *
 * @example
 * @UseFilters(CallbackExceptionFilter) class RecordingCallbackController {}
 */
@Catch()
export class CallbackExceptionFilter extends BaseExceptionFilter {
  constructor(private readonly telemetry: RecordingTelemetry) {
    super();
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest();
    const body = (request.body ?? {}) as Record<string, unknown>;
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : undefined);
    this.telemetry.callback({
      result: resultOf(status),
      status,
      durationMs: performance.now() - requestStart(request),
      taskId: str(body.task_id),
      eventType: str(body.event_type),
      publishDomain: str(body.publish_domain),
      reason: exception instanceof RecordingSignatureException ? exception.reason : undefined,
    });
    super.catch(exception, host);
  }
}
