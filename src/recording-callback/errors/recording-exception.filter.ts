import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { StorageDataError, StorageUnavailableError } from '../storage/storage.errors';
import { cutText, logLine } from '../telemetry/log-line';

/** Longest message echoed in an answer: messages may quote the request (a task id in a 404, say). */
const MAX_MESSAGE = 300;
/** A request id the client may choose (`X-Request-Id`), else one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

const cut = (text: string, max = MAX_MESSAGE) => cutText(text, max);

/**
 * How the filter answered one error: `refused` for client errors (4xx), `unavailable` for storage
 * failures, `unexpected` for any other error (answered 503 and logged once, never 500).
 */
export interface AnsweredError {
  kind: 'refused' | 'unavailable' | 'unexpected';
  status: number;
  body: Record<string, unknown>;
  requestId?: string;
}

/** The id of a request for its log line and answer: the client's `X-Request-Id` when well-formed. */
function requestIdOf(request: { headers?: Record<string, unknown> } | undefined): string {
  const given = request?.headers?.['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Turns every error of the module's routes into a bounded JSON answer, never a 500:
 * - HTTP exceptions keep their status and body, with the message cut to 300 characters (a 5xx other
 *   than 503 counts as unexpected);
 * - {@link StorageDataError} (a value the database refused) is a 400, since the same input fails again;
 * - {@link StorageUnavailableError} is a 503 ("try again"): nothing was stored;
 * - anything else is logged once, as one escaped JSON line with a request id and no multi-line stack,
 *   and answered 503 with that request id.
 *
 * The module applies it to its own controllers; an app may register it globally too.
 *
 * @example
 * app.useGlobalFilters(new RecordingExceptionFilter(app.get(HttpAdapterHost)));
 */
@Catch()
@Injectable()
export class RecordingExceptionFilter implements ExceptionFilter {
  protected readonly logger = new Logger('RecordingCallback');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest();
    const answered = this.answer(exception, request);
    this.answered(exception, answered, request);
    this.adapterHost.httpAdapter.reply(http.getResponse(), answered.body, answered.status);
  }

  /** Called once per error with the answer about to be sent; subclasses record it. */
  protected answered(_exception: unknown, _answer: AnsweredError, _request: unknown): void {}

  private answer(exception: unknown, request: { method?: string; url?: string } | undefined): AnsweredError {
    // An HTTP exception is answered as it is, but for a 5xx other than 503: a 500 from a guard or a pipe
    // of the app is an unexpected error like any other.
    const status = exception instanceof HttpException ? exception.getStatus() : 0;
    if (exception instanceof HttpException && (status < 500 || status === 503)) {
      const response = exception.getResponse();
      const body =
        typeof response === 'object' && response !== null
          ? ({ ...response } as Record<string, unknown>)
          : { statusCode: status, message: String(response) };
      const message: unknown = body.message;
      if (typeof message === 'string') body.message = cut(message);
      else if (Array.isArray(message)) body.message = message.slice(0, 20).map((m) => cut(String(m)));
      return { kind: status === 503 ? 'unavailable' : 'refused', status, body };
    }
    if (exception instanceof StorageDataError) {
      const field = exception.column ?? 'body';
      const problem = `${field} was refused by the database (${cut(exception.message, 120)})`;
      return {
        kind: 'refused',
        status: 400,
        body: {
          statusCode: 400,
          error: 'Bad Request',
          message: `invalid value: ${field}`,
          fields: { [field]: [problem] },
        },
      };
    }
    const requestId = requestIdOf(request as never);
    if (exception instanceof StorageUnavailableError) {
      this.logger.error(
        logLine({ msg: 'storage unavailable', requestId, code: exception.code, error: cut(exception.message) }),
      );
      return {
        kind: 'unavailable',
        status: 503,
        requestId,
        body: {
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'storage unavailable; try again later',
          requestId,
        },
      };
    }
    const error = exception instanceof Error ? exception : new Error(String(exception));
    this.logger.error(
      logLine({
        msg: 'unexpected error',
        requestId,
        method: request?.method,
        path: cut(String(request?.url ?? ''), 200),
        error: cut(`${error.name}: ${error.message}`),
        // The first frames only, inside the one line: enough to find the place, too little to flood the log.
        at: error.stack
          ?.split('\n')
          .slice(1, 4)
          .map((l) => l.trim()),
      }),
    );
    return {
      kind: 'unexpected',
      status: 503,
      requestId,
      body: { statusCode: 503, error: 'Service Unavailable', message: 'unexpected error; try again later', requestId },
    };
  }
}
