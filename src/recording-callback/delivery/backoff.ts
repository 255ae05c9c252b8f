/**
 * Delay before retry number `attempt` (1 = first retry): exponential from `baseMs`, capped at `maxMs`,
 * with "full jitter" (uniform between half and all of it) so that instances do not retry in step.
 *
 * @example
 * retryDelay(3, 1000, 60000, Math.random); // between 2000 and 4000 ms
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
