import { JsonLineLogger } from './json-line.logger';

/** A sink that keeps each write. */
function sink() {
  const writes: string[] = [];
  return { writes, write: (text: string) => writes.push(text) };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('JsonLineLogger', () => {
  it('writes the lines of one event-loop turn with one write after the turn, one JSON object per line', async () => {
    const out = sink();
    const logger = new JsonLineLogger(out);
    logger.log('first', 'RecordingCallback');
    logger.log('second', 'RecordingCallback');
    expect(out.writes).toEqual([]);
    await nextTurn();
    expect(out.writes).toHaveLength(1);
    const lines = out.writes[0].split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'log', context: 'RecordingCallback', message: 'first', pid: process.pid }),
      expect.objectContaining({ level: 'log', context: 'RecordingCallback', message: 'second' }),
    ]);
    expect(Number.isNaN(Date.parse(JSON.parse(lines[0]).time))).toBe(false);
  });

  it('writes a warning at once, with what was buffered before it', () => {
    const out = sink();
    const logger = new JsonLineLogger(out);
    logger.log('before', 'App');
    logger.warn('careful', 'App');
    expect(out.writes).toHaveLength(1);
    expect(
      out.writes[0]
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).level),
    ).toEqual(['log', 'warn']);
  });

  it('writes an error at once, with what was buffered before it and its stack', () => {
    const out = sink();
    const logger = new JsonLineLogger(out);
    logger.log('before', 'App');
    logger.error('failed', 'Error: failed\n    at x', 'App');
    expect(out.writes).toHaveLength(1);
    const [before, failed] = out.writes[0]
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(before).toMatchObject({ level: 'log', message: 'before' });
    expect(failed).toMatchObject({
      level: 'error',
      message: 'failed',
      stack: 'Error: failed\n    at x',
      context: 'App',
    });
  });

  it('keeps a hostile message on one line, with the characters terminals act on escaped', async () => {
    const out = sink();
    const logger = new JsonLineLogger(out);
    logger.log('a\nb\u001b[31m\u2028c\u009b', 'App');
    await nextTurn();
    expect(out.writes[0].split('\n')).toHaveLength(2);
    expect(out.writes[0]).not.toMatch(/[\u001b\u2028\u009b]/);
    expect(JSON.parse(out.writes[0]).message).toBe('a\nb\u001b[31m\u2028c\u009b');
  });
});
