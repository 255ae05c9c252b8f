/**
 * Raised at start-up for invalid options; the message names the option at fault.
 *
 * @example
 * try { resolveOptions(raw) } catch (e) { if (e instanceof RecordingCallbackOptionsError) ... }
 */
export class RecordingCallbackOptionsError extends Error {
  constructor(option: string, problem: string) {
    super(`RecordingCallbackModule option ${option}: ${problem}`);
    this.name = 'RecordingCallbackOptionsError';
  }
}

/**
 * A whole-number option at least `min`, or `fallback` when not given; throws
 * {@link RecordingCallbackOptionsError} naming the option otherwise.
 *
 * @example
 * count('delivery.maxAttempts', raw.delivery?.maxAttempts, 8, 1);
 */
export function count(option: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new RecordingCallbackOptionsError(option, `must be a whole number >= ${min}`);
  }
  return value;
}
