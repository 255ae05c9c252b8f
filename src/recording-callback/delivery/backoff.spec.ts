import { retryDelay } from './backoff';

describe('retryDelay', () => {
  const BASE = 1000;
  const MAX = 60_000;

  it('doubles the ceiling with each attempt, from baseMs at the first retry', () => {
    // random() = 1 gives the ceiling itself.
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(n, BASE, MAX, () => 1))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('never exceeds maxMs, however many attempts', () => {
    expect(retryDelay(7, BASE, MAX, () => 1)).toBe(60_000); // 64 s capped
    expect(retryDelay(50, BASE, MAX, () => 1)).toBe(60_000);
    expect(retryDelay(2000, BASE, MAX, () => 1)).toBe(60_000); // 2 ** 1999 is Infinity
  });

  it('jitters between half and all of the ceiling', () => {
    expect(retryDelay(3, BASE, MAX, () => 0)).toBe(2000);
    expect(retryDelay(3, BASE, MAX, () => 0.5)).toBe(3000);
    expect(retryDelay(3, BASE, MAX, () => 0.999)).toBe(3998);
    expect(retryDelay(9, BASE, MAX, () => 0)).toBe(30_000); // half of the cap
  });

  it('spreads real random delays over the whole range', () => {
    const delays = Array.from({ length: 2000 }, () => retryDelay(4, BASE, MAX, Math.random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(4000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(8000);
    // Both halves of the range are used (2000 draws: missing one by chance has probability 2^-1999).
    expect(delays.some((d) => d < 6000)).toBe(true);
    expect(delays.some((d) => d > 6000)).toBe(true);
  });

  it('treats an attempt below 1 as the first', () => {
    expect(retryDelay(0, BASE, MAX, () => 1)).toBe(1000);
  });
});
