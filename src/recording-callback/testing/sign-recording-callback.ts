import { computeSignature } from '../protocol/signature';
import type { SignatureAlgorithm } from '../protocol/signature';

/**
 * How {@link signRecordingCallback} signs a body.
 *
 * @example
 * { algorithm: 'HMACSHA256', key: process.env.RECORDING_CALLBACK_KEY!, expiresInSeconds: 60 }
 */
export interface SignRecordingCallbackOptions {
  /** The callback key configured in the Huawei Live console (and in the module). */
  key: string;
  /** `HMACSHA256` (default) or `MD5`. */
  algorithm?: SignatureAlgorithm;
  /**
   * `auth_timestamp` is now plus this many seconds (default 0: the send time, as in Huawei's examples).
   * A negative value beyond the module's tolerance produces an expired signature.
   */
  expiresInSeconds?: number;
  /** An exact `auth_timestamp` (Unix seconds); wins over `expiresInSeconds`. */
  timestamp?: number;
  /** Clock in milliseconds (default `Date.now`), for tests that control time. */
  now?: () => number;
}

/**
 * A body with the two fields Huawei adds when callback authentication is on.
 *
 * @example
 * const body: Signed<RecordStartBody> = signRecordingCallback(buildRecordStart(), { key });
 */
export type Signed<T extends object> = Omit<T, 'auth_sign' | 'auth_timestamp'> & {
  auth_timestamp: number;
  auth_sign: string;
};

/**
 * Adds `auth_timestamp` and a genuine `auth_sign` to a callback body, exactly as Huawei Live computes
 * them (MD5: `MD5(key + auth_timestamp)`; HMACSHA256: HMAC over `auth_timestamp + event_type +
 * publish_domain + app + stream + download_url + play_url`). Any `auth_sign`/`auth_timestamp` already on
 * the body is replaced. The body is not changed in place.
 *
 * @example
 * await request(app.getHttpServer())
 *   .post('/recording-callbacks')
 *   .send(signRecordingCallback(buildRecordFileComplete({ task_id: 't1' }), { key }))
 *   .expect(200);
 * @example
 * // An expired signature (the module's default tolerance is 300 s):
 * signRecordingCallback(buildRecordStart(), { key, expiresInSeconds: -3600 });
 */
export function signRecordingCallback<T extends object>(body: T, options: SignRecordingCallbackOptions): Signed<T> {
  if (!options || typeof options.key !== 'string' || options.key === '') {
    throw new TypeError('signRecordingCallback: options.key must be the callback key (a non-empty string)');
  }
  const algorithm = options.algorithm ?? 'HMACSHA256';
  if (algorithm !== 'HMACSHA256' && algorithm !== 'MD5') {
    throw new TypeError(`signRecordingCallback: unknown algorithm ${JSON.stringify(algorithm)}; use HMACSHA256 or MD5`);
  }
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  const auth_timestamp = options.timestamp ?? nowSeconds + (options.expiresInSeconds ?? 0);
  const { auth_sign: _previous, ...rest } = body as Record<string, unknown>;
  const unsigned = { ...rest, auth_timestamp };
  const auth_sign = computeSignature(algorithm, unsigned as never, options.key);
  return { ...unsigned, auth_sign } as unknown as Signed<T>;
}
