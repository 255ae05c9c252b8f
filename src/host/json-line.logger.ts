import type { LoggerService, LogLevel } from '@nestjs/common';
import { logLine } from '../recording-callback';

/** Where lines go: process.stdout, or a test's sink. */
export interface LineSink {
  write(text: string): unknown;
}

/** Most lines held before they are written at once even within one event-loop turn. */
const MAX_BUFFERED = 512;

/**
 * The host app's JSON logger: one JSON object per line, escaped as the module's own lines are (`level`,
 * `time`, `pid`, `context`, `message`, and `stack` for errors), with the fields Nest's `ConsoleLogger` writes in json mode. Unlike it, lines
 * logged within one event-loop turn are written with one `write` after the turn (a file or pipe write
 * blocks the event loop on Linux), instead of one blocking write per line: under load the per-callback
 * line then costs a string, not a system call. Warnings, errors and fatal entries are written at once
 * (with what was buffered before them), and so is the buffer on a normal exit. Lines of the last turn
 * before a SIGKILL, or before Nest re-raises a termination signal, can be lost: at most one turn's `log`
 * lines. Everything goes to one stream (stdout by default), errors included.
 *
 * @example
 * NestFactory.create(AppModule, { logger: new JsonLineLogger(process.stdout) });
 */
export class JsonLineLogger implements LoggerService {
  private buffer: string[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  constructor(private readonly sink: LineSink = process.stdout) {
    process.once('exit', this.flushNow);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.entry('log', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.entry('warn', message, rest);
    this.flush();
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.entry('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.entry('verbose', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.entry('error', message, rest);
    this.flush();
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.entry('fatal', message, rest);
    this.flush();
  }

  /** Writes the buffered lines now. */
  flush(): void {
    this.scheduled = false;
    if (!this.buffer.length) return;
    const text = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    this.sink.write(text);
  }

  private entry(level: LogLevel, message: unknown, rest: unknown[]): void {
    // Nest passes the context last (a string), and for errors a stack before it.
    const context = rest.length && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const stack = level === 'error' && typeof rest[0] === 'string' ? rest[0] : undefined;
    const text = message instanceof Error ? message.message : message;
    // logLine also escapes the characters JSON leaves raw that terminals still act on.
    this.buffer.push(
      logLine({
        level,
        time: new Date().toISOString(),
        pid: process.pid,
        ...(context === undefined ? {} : { context }),
        message: text,
        ...(stack === undefined ? (message instanceof Error ? { stack: message.stack } : {}) : { stack }),
      }),
    );
    if (this.buffer.length >= MAX_BUFFERED) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }
}
