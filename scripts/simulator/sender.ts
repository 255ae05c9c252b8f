import { signRecordingCallback } from '../../src/recording-callback/testing';
import { UsageError } from './usage';
import type { Body, Signing } from './options';
import type { Progress } from './report';

/** Sending callbacks over HTTP and counting the answers. */

/** Answers counted by status and result. */
export interface Tally {
  sent: number;
  byStatus: Record<string, number>;
  byResult: Record<string, number>;
  /** A few distinct non-200 answers, to show what went wrong. */
  samples: string[];
}

/** Signs and posts callbacks, counting the answers (and keeping them for --save). */
export class Sender {
  readonly tally: Tally = { sent: 0, byStatus: {}, byResult: {}, samples: [] };
  private readonly saved: string[] = [];

  constructor(
    private readonly url: URL,
    private readonly sign: Signing | undefined,
    private readonly timeoutMs: number,
    private readonly progress: Progress,
    private readonly save: boolean,
  ) {}

  /** POSTs one callback (signed now, unless sending as-is) and counts the answer. */
  async send(body: Body): Promise<number | string> {
    const signed = this.sign
      ? signRecordingCallback(body, {
          key: this.sign.key,
          algorithm: this.sign.algorithm,
          expiresInSeconds: this.sign.expires,
        })
      : body;
    const text = JSON.stringify(signed);
    if (this.save) this.saved.push(text);
    let status: number | string;
    let answer = '';
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.status;
      answer = await res.text();
    } catch (error) {
      status = networkError(error);
    }
    this.count(status, answer);
    return status;
  }

  savedLines(): string[] {
    return this.saved;
  }

  private count(status: number | string, answer: string): void {
    const t = this.tally;
    t.sent++;
    t.byStatus[status] = (t.byStatus[status] ?? 0) + 1;
    if (status === 200) {
      let result = 'other';
      try {
        result = String((JSON.parse(answer) as { result?: unknown }).result ?? 'other');
      } catch {
        // not JSON: counted as "other"
      }
      t.byResult[result] = (t.byResult[result] ?? 0) + 1;
    } else if (t.samples.length < 5) {
      const sample = `${status}: ${answer.slice(0, 200)}`.trim();
      if (!t.samples.includes(sample)) t.samples.push(sample);
    }
    this.progress.tick(t.sent);
  }
}

/** A network error in one line (the cause's code when there is one). */
export function networkError(error: unknown): string {
  const e = error as { name?: string; cause?: { code?: string }; code?: string };
  if (e?.name === 'TimeoutError') return 'timeout';
  return e?.cause?.code ?? e?.code ?? 'network error';
}

/**
 * Sends the first callback alone, so that a wrong URL stops the run at once with a clear message
 * (exit code 2) instead of failing every request.
 */
/** Sends one callback first, so a wrong URL or key is one clear error instead of N failures. */
export async function preflight(sender: Sender, url: URL, body: Body): Promise<void> {
  const status = await sender.send(body);
  if (typeof status === 'string') {
    throw new UsageError(`cannot reach ${url.href}: ${status}. Is the app running, and is --url right?`);
  }
  if (status === 404 || status === 405) {
    throw new UsageError(
      `${url.href} answered ${status}: no callback route there. The module's default path is /recording-callbacks`,
    );
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
/** Runs `work` over `items`, at most `concurrency` at once. */
export async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
