const STARTED = Symbol('recordingCallbackStartedAt');

/**
 * Marks when the module started handling a request (the signature guard runs first).
 *
 * @example
 * markRequestStart(request); ... performance.now() - requestStart(request);
 */
export function markRequestStart(request: object): void {
  (request as Record<symbol, number>)[STARTED] = performance.now();
}

/** When {@link markRequestStart} ran for this request, or now if it did not. */
export function requestStart(request: object): number {
  return (request as Record<symbol, number>)[STARTED] ?? performance.now();
}
