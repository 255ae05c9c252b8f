import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { logLine } from '../telemetry/log-line';

/** Largest callback body accepted by default; Huawei's callbacks are well under 2 KiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Options of {@link boundedJsonBody}.
 *
 * @example
 * boundedJsonBody({ limitBytes: 32 * 1024 })
 */
export interface BoundedJsonBodyOptions {
  /** Largest body, in bytes after decompression (default {@link DEFAULT_BODY_LIMIT_BYTES}). */
  limitBytes?: number;
}

type Next = (error?: unknown) => void;

const logger = new Logger('RecordingCallback');
/** Strict: invalid UTF-8 is refused, not replaced (a leading byte order mark is dropped). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '');
  return match?.[1].toLowerCase();
}

/**
 * Answers a refused body at once and closes the connection, so the rest of a large body is never read:
 * `Connection: close` makes Node destroy the socket once the answer is written, instead of draining it.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string, message: string): void {
  logger.warn(
    logLine({
      msg: 'recording callback',
      result: status === 413 ? 'too_large' : 'invalid',
      status,
      message,
      path: req.url?.slice(0, 200),
    }),
  );
  if (res.headersSent) return void req.socket.destroy();
  req.unpipe?.();
  req.pause();
  const body = JSON.stringify({ statusCode: status, error, message });
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body);
}

/**
 * Express/Connect middleware that reads a JSON request body within a size limit, for a public route that
 * must not spend effort on hostile requests:
 * - a `Content-Length` over the limit is refused with 413 before one byte of the body is read;
 * - a body without a length (chunked) is read only up to the limit, then refused with 413;
 * - a refused request's connection is closed, never drained;
 * - malformed JSON is a 400 whose message does not echo the body;
 * - gzip/deflate bodies are limited by their decompressed size; other encodings and charsets are 415.
 * Bodies of other content types pass untouched to the next middleware, and their connection is closed after
 * the answer (never drained for keep-alive). Use it instead of Nest's JSON
 * body parser (create the app with `{ bodyParser: false }`), for the whole app or the callback path.
 *
 * @example
 * const app = await NestFactory.create<NestExpressApplication>(AppModule, { bodyParser: false });
 * app.use(boundedJsonBody({ limitBytes: 64 * 1024 }));
 */
export function boundedJsonBody(options: BoundedJsonBodyOptions = {}) {
  const limit = options.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError('boundedJsonBody: limitBytes must be a whole number >= 1');
  const tooLarge = `body must not exceed ${limit} bytes`;

  return function boundedJsonBodyMiddleware(
    req: IncomingMessage & { body?: unknown },
    res: ServerResponse,
    next: Next,
  ): void {
    const lengthHeader = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (lengthHeader === undefined && !chunked) return next();
    const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
    // Announced too large: refuse before reading, whatever the content type.
    if (declared !== undefined && declared > limit) return refuse(req, res, 413, 'Payload Too Large', tooLarge);
    if (declared === 0) return next();
    if (!isJson(req.headers['content-type'])) {
      // Not read here: whatever answers it, Node would otherwise read the rest of the body after the
      // answer to keep the connection alive, without limit. Closing the connection stops that.
      res.setHeader('Connection', 'close');
      return next();
    }
    const charset = charsetOf(req.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return refuse(req, res, 415, 'Unsupported Media Type', 'charset must be utf-8');
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    let source: IncomingMessage | Transform = req;
    if (encoding === 'gzip') source = req.pipe(createGunzip());
    else if (encoding === 'deflate') source = req.pipe(createInflate());
    else if (encoding !== 'identity') {
      return refuse(req, res, 415, 'Unsupported Media Type', 'content-encoding must be gzip, deflate or identity');
    }

    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (fail?: () => void) => {
      if (done) return;
      done = true;
      source.removeAllListeners('data');
      if (fail) fail();
    };
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(() => refuse(req, res, 413, 'Payload Too Large', tooLarge));
      chunks.push(chunk);
    });
    source.on('error', () => finish(() => refuse(req, res, 400, 'Bad Request', 'body could not be decoded')));
    // A client that goes away needs no answer.
    req.on('aborted', () => finish());
    // The body is decoded, and the request goes on down the chain, in a setImmediate: the body of a socket
    // ends in an I/O callback, so this runs after the turn's other I/O callbacks, and the database's answers
    // to batches already in flight (and so their callers' answers) go before new requests. Measured on
    // PostgreSQL: 1.08x callbacks/s (BENCHMARKS.md).
    source.on('end', () =>
      setImmediate(finish, () => {
        let text: string;
        try {
          text = UTF8.decode(Buffer.concat(chunks, size));
        } catch {
          // Replacing broken bytes with U+FFFD would change signed text silently.
          return refuse(req, res, 400, 'Bad Request', 'body is not valid UTF-8');
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return refuse(req, res, 400, 'Bad Request', 'body is not valid JSON');
        }
        req.body = parsed;
        next();
      }),
    );
  };
}
