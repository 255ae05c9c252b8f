import { sign } from './callbacks';
import { postCallback } from './storm';
import type { Answer, StormCallback } from './storm';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request of a stream and what it got. */
export interface Attempt {
  callback: StormCallback;
  signed: Record<string, unknown>;
  answer: Answer;
}

/**
 * A steady stream of callbacks, as Huawei sends them: a few in flight, in the given order; a callback
 * answered anything but 200 is sent again later (re-signed, as a new attempt); one answered 200 is done.
 *
 * @example
 * const stream = new CallbackStream(url, callbacks); stream.start(4, 30); ...; await stream.finish(30_000);
 */
export class CallbackStream {
  readonly attempts: Attempt[] = [];
  private readonly pending: StormCallback[];
  private readonly retry: StormCallback[] = [];
  private outstanding: number;
  private stopped = false;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    callbacks: StormCallback[],
  ) {
    this.pending = [...callbacks];
    this.outstanding = callbacks.length;
  }

  start(concurrency: number, pauseMs: number): void {
    this.workers = Array.from({ length: concurrency }, () => this.work(pauseMs));
  }

  /** Callbacks not answered 200 yet. */
  get left(): number {
    return this.outstanding;
  }

  /** Answers 200 to requests started at or after `since` (ms since epoch). */
  accepted(since = 0): number {
    return this.attempts.filter((a) => a.answer.status === 200 && a.answer.startedAt >= since).length;
  }

  /** Waits until every callback was answered 200 or the deadline passed, then stops. */
  async finish(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (this.outstanding > 0 && Date.now() < deadline) await sleep(50);
    await this.stop();
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
  }

  private async work(pauseMs: number): Promise<void> {
    while (!this.stopped && this.outstanding > 0) {
      const callback = this.retry.shift() ?? this.pending.shift();
      if (!callback) {
        await sleep(20);
        continue;
      }
      const signed = sign(callback.body);
      const answer = await postCallback(this.url, signed, 60_000);
      this.attempts.push({ callback, signed, answer });
      if (answer.status === 200) this.outstanding--;
      else this.retry.push(callback);
      await sleep(pauseMs);
    }
  }
}

/** Round-robin over lifecycles: the callbacks of many tasks interleaved, each task's in lifecycle order. */
export function interleave(lifecycles: StormCallback[][]): StormCallback[] {
  const ordered: StormCallback[] = [];
  for (let i = 0; lifecycles.some((l) => i < l.length); i++)
    for (const l of lifecycles) if (i < l.length) ordered.push(l[i]);
  return ordered;
}

/** Polls `check` until it is true; throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
