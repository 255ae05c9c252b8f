import type { LoggerService } from '@nestjs/common';

/** One line a {@link CapturingLogger} received. */
export interface CapturedLog {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
}

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.message}\n${value.stack ?? ''}`;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * A Nest LoggerService that keeps every line in memory instead of printing it, so tests can assert
 * on what the app logged.
 *
 * @example
 * const logs = new CapturingLogger(); app.useLogger(logs); ...; expect(logs.text('error')).toContain('callback 3');
 */
export class CapturingLogger implements LoggerService {
  readonly lines: CapturedLog[] = [];

  private push(level: CapturedLog['level'], message: unknown, params: unknown[]): void {
    // Nest passes the context as the last string parameter; other parameters (stack traces) are kept too.
    // Nest's Logger passes an undefined stack when there is none; it prints nothing for it.
    const rest = params.filter((p) => p !== undefined);
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const text = [render(message), ...rest.map(render)].join('\n');
    this.lines.push({ level, message: text, context });
  }

  log(message: unknown, ...params: unknown[]): void {
    this.push('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.push('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.push('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.push('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.push('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.push('fatal', message, params);
  }

  /** Lines of the given levels (all levels when none given). */
  of(...levels: CapturedLog['level'][]): CapturedLog[] {
    return levels.length ? this.lines.filter((l) => levels.includes(l.level)) : this.lines;
  }

  /** Everything logged at the given levels, one line per entry, for `toContain` / `toMatch`. */
  text(...levels: CapturedLog['level'][]): string {
    return this.of(...levels)
      .map((l) => `[${l.level}] ${l.context ? `${l.context}: ` : ''}${l.message}`)
      .join('\n');
  }
}
