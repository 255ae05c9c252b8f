import { HttpAdapterHost } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { RecordingExceptionFilter, boundedJsonBody } from '../recording-callback';

/** Largest callback body accepted; larger bodies get 413. Huawei's callbacks are well under 2 KiB. */
export const CALLBACK_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Timeouts of the Node HTTP server, in milliseconds. Node checks them every 30 s, so a connection may
 * live up to 30 s past its timeout.
 *
 * @example
 * { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 }
 */
export interface HttpTimeouts {
  /** Time to receive the request headers (`server.headersTimeout`; Node's default 60 s). */
  headersTimeoutMs: number;
  /**
   * Time to receive the whole request, body included (`server.requestTimeout`; Node's default 300 s); also
   * how long a connection may stay silent (`server.timeout`), e.g. one that never sends a byte.
   */
  requestTimeoutMs: number;
  /** Idle time of a kept-alive connection between requests (`server.keepAliveTimeout`). */
  keepAliveTimeoutMs: number;
}

/** The host app's defaults: a callback is under 2 KiB, so a client that needs longer is slow or hostile. */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * HTTP settings the host app applies before listening; tests apply the same. The app must be created
 * with `{ bodyParser: false }`: {@link boundedJsonBody} is the only body reader, so an oversized body is
 * refused before it is read. Also: helmet's headers (no `X-Powered-By`, `nosniff`, …), the module's
 * exception filter for every route (no 500, no stack in the log), the server timeouts, shutdown hooks
 * (exit code 0 after a graceful shutdown).
 *
 * @example
 * const app = await NestFactory.create<NestExpressApplication>(module, { bodyParser: false });
 * configureHttp(app, { ...DEFAULT_HTTP_TIMEOUTS, requestTimeoutMs: 10_000 });
 */
export function configureHttp(
  app: NestExpressApplication,
  timeouts: HttpTimeouts = DEFAULT_HTTP_TIMEOUTS,
): NestExpressApplication {
  app.use(helmet());
  app.use(boundedJsonBody({ limitBytes: CALLBACK_BODY_LIMIT_BYTES }));
  app.useGlobalFilters(new RecordingExceptionFilter(app.get(HttpAdapterHost)));
  const server = app.getHttpServer();
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  // headersTimeout starts with the first byte: a connection that never sends one is closed by this.
  server.timeout = timeouts.requestTimeoutMs;
  // After a graceful shutdown (SIGTERM: deliveries finish within the grace time) the process exits 0, as
  // process managers expect; without useProcessExit Nest re-raises the signal and the exit reads as killed.
  app.enableShutdownHooks([], { useProcessExit: true });
  return app;
}
