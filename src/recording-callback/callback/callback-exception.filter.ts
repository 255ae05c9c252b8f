import { Catch, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RecordingExceptionFilter } from '../errors/recording-exception.filter';
import type { AnsweredError } from '../errors/recording-exception.filter';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import type { CallbackOutcome } from '../telemetry/recording-telemetry';
import { RecordingSignatureException } from './signature.exception';
import { requestStart } from './request-timing';

function resultOf(answer: AnsweredError): CallbackOutcome['result'] {
  if (answer.kind === 'unexpected') return 'error';
  if (answer.status === 401) return 'rejected';
  if (answer.status === 503) return 'unavailable';
  return 'invalid';
}

/**
 * The callback route's filter: answers as {@link RecordingExceptionFilter} does and records every
 * refused callback (401, 400, 413, 503) in the telemetry: one log line and the metrics.
 *
 * @example
 * @UseFilters(CallbackExceptionFilter) class RecordingCallbackController {}
 */
@Catch()
@Injectable()
export class CallbackExceptionFilter extends RecordingExceptionFilter {
  constructor(
    adapterHost: HttpAdapterHost,
    private readonly telemetry: RecordingTelemetry,
  ) {
    super(adapterHost);
  }

  protected override answered(exception: unknown, answer: AnsweredError, request: { body?: unknown }): void {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : undefined);
    const message = typeof answer.body.message === 'string' ? answer.body.message : undefined;
    // The first problems of a 400, so the operator reads what was wrong (e.g. both domains of a mismatch).
    const fields = answer.body.fields as Record<string, string[]> | undefined;
    const problems = fields
      ? Object.values(fields)
          .slice(0, 3)
          .map((p) => p[0])
      : [];
    this.telemetry.callback({
      result: resultOf(answer),
      status: answer.status,
      durationMs: performance.now() - requestStart(request),
      taskId: str(body.task_id),
      eventType: str(body.event_type),
      publishDomain: str(body.publish_domain),
      reason: exception instanceof RecordingSignatureException ? exception.detail : undefined,
      message: message && answer.status !== 401 ? [message, ...problems].join('; ').slice(0, 600) : undefined,
      requestId: answer.requestId,
    });
  }
}
