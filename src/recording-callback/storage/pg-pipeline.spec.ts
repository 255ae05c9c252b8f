import type { QueryRunner } from 'typeorm';
import { pgPipeline } from './pg-pipeline';

/**
 * A pg client whose Query class cannot be pipelined (as with pg-native, whose queries never run pg's
 * `prepare`): the pipeline falls back to one statement per round trip. Real exchanges are covered by
 * test/gateway-postgres.e2e-spec.ts against a PostgreSQL server.
 */
function nativeLikeRunner(answer: (text: string) => string | Error) {
  const sent: string[] = [];
  let status = 'I';
  class NativeQuery {
    // Has no `prepare`/`_getRows`: nothing to put BEGIN or COMMIT around.
  }
  const client = {
    constructor: { Query: NativeQuery },
    async query({ text }: { text: string }) {
      sent.push(text);
      const outcome = answer(text);
      if (outcome instanceof Error) throw outcome;
      if (text === 'BEGIN') status = 'T';
      if (text === 'COMMIT') status = 'I';
      return { command: outcome, rows: [{ text }] };
    },
    getTransactionStatus: () => status,
  };
  const runner = { connect: async () => client } as unknown as QueryRunner;
  return { runner, sent };
}

describe('pgPipeline without a pipelinable Query class (pg-native)', () => {
  it('sends BEGIN, each statement and COMMIT as round trips of their own, in order', async () => {
    const { runner, sent } = nativeLikeRunner((text) => text.split(' ')[0]);
    pgPipeline.open(runner);
    await expect(pgPipeline.queryAll(runner, [{ text: 'SELECT 1', values: [] }])).resolves.toEqual([
      [{ text: 'SELECT 1' }],
    ]);
    // Asked to commit with its statement, it commits after the work instead.
    await expect(pgPipeline.queryAll(runner, [{ text: 'INSERT x', values: [] }], { commit: true })).resolves.toEqual([
      [{ text: 'INSERT x' }],
    ]);
    await pgPipeline.finish(runner);
    expect(sent).toEqual(['BEGIN', 'SELECT 1', 'INSERT x', 'COMMIT']);
    expect(pgPipeline.has(runner)).toBe(false);
  });

  it('runs the statements of one exchange as round trips of their own, in order, and returns the rows of each', async () => {
    const { runner, sent } = nativeLikeRunner((text) => text.split(' ')[0]);
    pgPipeline.open(runner);
    const rows = await pgPipeline.queryAll(runner, [
      { text: 'INSERT a', values: [] },
      { text: 'SELECT b', values: [] },
    ]);
    expect(rows).toEqual([[{ text: 'INSERT a' }], [{ text: 'SELECT b' }]]);
    await pgPipeline.finish(runner);
    expect(sent).toEqual(['BEGIN', 'INSERT a', 'SELECT b', 'COMMIT']);
  });

  it('after a failed statement refuses the next one and fails the finish, even if the work went on', async () => {
    const { runner, sent } = nativeLikeRunner((text) =>
      text === 'UPDATE y' ? new Error('refused') : text.split(' ')[0],
    );
    pgPipeline.open(runner);
    await expect(pgPipeline.queryAll(runner, [{ text: 'UPDATE y', values: [] }])).rejects.toThrow('refused');
    await expect(pgPipeline.queryAll(runner, [{ text: 'SELECT 1', values: [] }])).rejects.toThrow(/failed/);
    await expect(pgPipeline.finish(runner)).rejects.toThrow(/failed/);
    expect(sent).toEqual(['BEGIN', 'UPDATE y']);
  });

  it('sends nothing for a transaction that ran no statement', async () => {
    const { runner, sent } = nativeLikeRunner((text) => text);
    pgPipeline.open(runner);
    await pgPipeline.finish(runner);
    expect(sent).toEqual([]);
  });
});
