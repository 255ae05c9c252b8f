import type { EntityManager } from 'typeorm';
import type { Work } from './connections';

/**
 * Work done for a whole batch of items in one transaction: returns one result per item, in order.
 * It must await only this database, and be safe to run again (after a rollback) on any sub-list.
 */
export type BatchWork<I, R> = (em: EntityManager, items: I[]) => Promise<R[]>;

/**
 * Bounds of a {@link TransactionBatcher}.
 *
 * @example
 * { maxSize: 128, maxWaitMs: 2, concurrency: 4 }
 */
export interface BatchLimits {
  /** Most items one transaction takes. */
  maxSize: number;
  /** Longest time, in ms, the first item of a batch waits for others to join it. */
  maxWaitMs: number;
  /** Batches in flight at once (each on its own connection where the database has several). */
  concurrency: number;
}

/** Runs work in one transaction and resolves after its commit (the gateway's `transaction`, untyped errors). */
export type TransactionRunner = <T>(work: Work<T>) => Promise<T>;

interface Queued<I, R> {
  item: I;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/** Most event-loop turns a batch keeps gathering while each turn still adds items. */
const MAX_GATHER_TURNS = 8;

/**
 * Group commit for one kind of work: items submitted within the same few event-loop turns share one
 * transaction, and each caller resumes only after the commit that made its item durable. Up to
 * `concurrency` batches run at once; later items queue and form the next batch when one finishes.
 *
 * If a batch's work fails on a value one item carries, each of its items runs again alone, one after
 * another in batch order, so one bad item never fails its neighbours. If the database is unavailable
 * (`retryAlone` says no), or the transaction itself failed (BEGIN or COMMIT: the database is unreachable or the
 * commit's outcome is unknown), every item of the batch fails with that error at once, since running
 * them again one by one would only wait for the same failure again and again.
 *
 * @example
 * const batcher = new TransactionBatcher(run, (em, items) => storeAll(em, items), { maxSize: 128, maxWaitMs: 2, concurrency: 4 });
 * const result = await batcher.submit(item);
 */
export class TransactionBatcher<I, R> {
  private readonly queue: Queued<I, R>[] = [];
  private inFlight = 0;
  private gathering = false;

  /**
   * @param retryAlone whether a failure of the work is worth running each item again alone: a value one
   * item carries that the database refused, yes; a lost connection or a timeout, no (the whole batch
   * then fails at once, like a failed COMMIT). Default: every failure.
   */
  constructor(
    private readonly run: TransactionRunner,
    private readonly work: BatchWork<I, R>,
    private readonly limits: BatchLimits,
    private readonly retryAlone: (error: unknown) => boolean = () => true,
  ) {}

  /** Items waiting for a batch (not those in flight). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Stores `item` in the next batch; resolves with its result after that batch's commit. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.startNext();
    });
  }

  private startNext(): void {
    if (this.gathering || this.inFlight >= this.limits.concurrency || this.queue.length === 0) return;
    this.gathering = true;
    this.inFlight++;
    void this.gather()
      .then(() => {
        this.gathering = false;
        const batch = this.queue.splice(0, this.limits.maxSize);
        // Another slot may take the rest of the queue while this batch runs.
        this.startNext();
        return this.runBatch(batch);
      })
      .finally(() => {
        this.inFlight--;
        this.startNext();
      });
  }

  /**
   * Lets the event loop read the requests whose bytes already arrived before the batch is cut: it
   * yields while the last turn still added items, up to the size and the wait bound. A lone item costs
   * one turn.
   */
  private async gather(): Promise<void> {
    const started = Date.now();
    let before = -1;
    for (let turn = 0; turn < MAX_GATHER_TURNS; turn++) {
      if (this.queue.length === before || this.queue.length >= this.limits.maxSize) return;
      if (turn > 0 && Date.now() - started >= this.limits.maxWaitMs) return;
      before = this.queue.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private async runBatch(batch: Queued<I, R>[]): Promise<void> {
    if (batch.length === 0) return;
    let workFailed = false;
    try {
      const results = await this.run(async (em) => {
        try {
          return await this.work(
            em,
            batch.map((q) => q.item),
          );
        } catch (error) {
          workFailed = true;
          throw error;
        }
      });
      batch.forEach((q, i) => q.resolve(results[i]));
    } catch (error) {
      if (!workFailed || batch.length === 1 || !this.retryAlone(error)) {
        for (const q of batch) q.reject(error);
        return;
      }
      // One after another, in batch order, within this batch's slot: at most `concurrency` transactions
      // stay open, and two items of one task are applied in the order they arrived.
      for (const q of batch) await this.runBatch([q]);
    }
  }
}
