import type { EntityManager } from 'typeorm';
import type { Work } from './connections';
import { TransactionBatcher } from './transaction-batcher';
import type { BatchLimits } from './transaction-batcher';

/**
 * A fake database: each "transaction" gets its own entity manager token, records the items its work saw,
 * and commits unless told to fail; `hold` keeps transactions open until released.
 */
function fakeDatabase() {
  const transactions: Array<{ items: number[]; committed: boolean }> = [];
  let open = 0;
  let mostOpen = 0;
  let failCommit = false;
  const held: Array<() => void> = [];
  let holding = false;
  const run = async <T>(work: Work<T>): Promise<T> => {
    const tx = { items: [] as number[], committed: false };
    transactions.push(tx);
    open++;
    mostOpen = Math.max(mostOpen, open);
    try {
      const result = await work(tx as unknown as EntityManager);
      if (holding) await new Promise<void>((resolve) => held.push(resolve));
      if (failCommit) throw new Error('COMMIT failed: connection lost');
      tx.committed = true;
      return result;
    } finally {
      open--;
    }
  };
  return {
    run,
    transactions,
    mostOpen: () => mostOpen,
    failCommits: () => (failCommit = true),
    hold: () => (holding = true),
    releaseAll: () => {
      holding = false;
      held.splice(0).forEach((r) => r());
    },
    heldCount: () => held.length,
  };
}

/** A batch work that stores each item (refusing negative ones) and answers item × 10. */
const work = async (em: EntityManager, items: number[]) => {
  const tx = em as unknown as { items: number[] };
  for (const item of items) {
    if (item < 0) throw new Error(`item ${item} refused`);
    tx.items.push(item);
  }
  return items.map((i) => i * 10);
};

const limits = (over: Partial<BatchLimits> = {}): BatchLimits => ({
  maxSize: 100,
  maxWaitMs: 50,
  concurrency: 2,
  ...over,
});

describe('TransactionBatcher', () => {
  it('stores items submitted together in one transaction and answers each with its own result', async () => {
    const fake = fakeDatabase();
    const batcher = new TransactionBatcher(fake.run, work, limits());
    const results = await Promise.all([1, 2, 3, 4].map((i) => batcher.submit(i)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(fake.transactions).toEqual([{ items: [1, 2, 3, 4], committed: true }]);
  });

  it('answers an item only after the commit that stored it', async () => {
    const fake = fakeDatabase();
    fake.hold();
    const batcher = new TransactionBatcher(fake.run, work, limits());
    let answered = false;
    const pending = batcher.submit(7).then((r) => ((answered = true), r));
    while (fake.heldCount() === 0) await new Promise((resolve) => setImmediate(resolve));
    // The work ran; the commit has not happened yet, so the caller has no answer.
    expect([fake.transactions[0].items, answered]).toEqual([[7], false]);
    fake.releaseAll();
    expect(await pending).toBe(70);
    expect(fake.transactions[0].committed).toBe(true);
  });

  it('takes at most maxSize items per transaction', async () => {
    const fake = fakeDatabase();
    const batcher = new TransactionBatcher(fake.run, work, limits({ maxSize: 2, concurrency: 1 }));
    await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.submit(i)));
    expect(fake.transactions.map((t) => t.items)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('runs at most `concurrency` transactions at once; later items wait and form the next batch', async () => {
    const fake = fakeDatabase();
    fake.hold();
    const batcher = new TransactionBatcher(fake.run, work, limits({ maxSize: 1, concurrency: 2 }));
    const all = Promise.all([1, 2, 3, 4].map((i) => batcher.submit(i)));
    while (fake.heldCount() < 2) await new Promise((resolve) => setImmediate(resolve));
    expect([fake.transactions.length, batcher.waiting]).toEqual([2, 2]);
    fake.releaseAll();
    // Released transactions let the waiting items start; keep releasing until all are answered.
    let done = false;
    void all.then(() => (done = true));
    while (!done) {
      fake.releaseAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await all).toEqual([10, 20, 30, 40]);
    expect(fake.mostOpen()).toBe(2);
  });

  it('re-runs a failed batch item by item, so only the bad item fails', async () => {
    const fake = fakeDatabase();
    const batcher = new TransactionBatcher(fake.run, work, limits());
    const outcomes = await Promise.allSettled([1, -2, 3].map((i) => batcher.submit(i)));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      10,
      'item -2 refused',
      30,
    ]);
    // The shared transaction rolled back (never committed), then each item ran alone.
    expect(fake.transactions.map((t) => [t.items, t.committed])).toEqual([
      [[1], false],
      [[1], true],
      [[], false],
      [[3], true],
    ]);
  });

  it('re-runs the items alone one after another, in batch order, within its one slot', async () => {
    const fake = fakeDatabase();
    const batcher = new TransactionBatcher(fake.run, work, limits({ concurrency: 1 }));
    const outcomes = await Promise.allSettled([1, 2, -3, 4, 5].map((i) => batcher.submit(i)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(fake.mostOpen()).toBe(1);
    expect(fake.transactions.slice(1).map((t) => t.items)).toEqual([[1], [2], [], [4], [5]]);
  });

  it('fails the whole batch at once when retryAlone refuses the error (the database is unavailable)', async () => {
    const fake = fakeDatabase();
    const lost = async (em: EntityManager, items: number[]) => {
      if (items.length) throw new Error('Connection terminated unexpectedly');
      return work(em, items);
    };
    const batcher = new TransactionBatcher(fake.run, lost, limits(), () => false);
    const outcomes = await Promise.allSettled([1, 2, 3].map((i) => batcher.submit(i)));
    expect(outcomes.map((o) => o.status === 'rejected' && (o.reason as Error).message)).toEqual([
      'Connection terminated unexpectedly',
      'Connection terminated unexpectedly',
      'Connection terminated unexpectedly',
    ]);
    expect(fake.transactions).toHaveLength(1);
  });

  it('fails every item of a batch at once when the transaction itself fails (no re-run)', async () => {
    const fake = fakeDatabase();
    fake.failCommits();
    const batcher = new TransactionBatcher(fake.run, work, limits());
    const outcomes = await Promise.allSettled([1, 2, 3].map((i) => batcher.submit(i)));
    expect(outcomes.map((o) => o.status === 'rejected' && (o.reason as Error).message)).toEqual([
      'COMMIT failed: connection lost',
      'COMMIT failed: connection lost',
      'COMMIT failed: connection lost',
    ]);
    expect(fake.transactions).toHaveLength(1);
  });

  it('keeps working after a failed batch', async () => {
    const fake = fakeDatabase();
    const batcher = new TransactionBatcher(fake.run, work, limits({ concurrency: 1 }));
    await expect(batcher.submit(-1)).rejects.toThrow('item -1 refused');
    expect(await batcher.submit(5)).toBe(50);
  });
});
