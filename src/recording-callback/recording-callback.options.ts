import { CanActivate, Type } from '@nestjs/common';
import { SIGNATURE_ALGORITHMS } from './protocol/signature';
import type { SignatureAlgorithm } from './protocol/signature';

/**
 * How callbacks of one ingest domain are signed. Every listed key is accepted, so a key can be rotated
 * by adding the new one, switching Huawei's template, then removing the old one.
 *
 * @example
 * { algorithm: 'HMACSHA256', keys: [process.env.NEW_KEY, process.env.OLD_KEY] }
 */
export interface RecordingCallbackKeySet {
  algorithm: SignatureAlgorithm;
  keys: string[];
}

/**
 * Signature settings: one key set for every domain, a key set per `publish_domain` (with an optional
 * fallback for other domains), or `'none'` when callback authentication is off on Huawei's side.
 *
 * @example
 * { domains: { 'push.a.com': { algorithm: 'HMACSHA256', keys: [k1] }, 'push.b.com': { algorithm: 'MD5', keys: [k2] } } }
 */
export type RecordingCallbackAuth =
  | RecordingCallbackKeySet
  | { domains: Record<string, RecordingCallbackKeySet>; fallback?: RecordingCallbackKeySet }
  | 'none';

/**
 * Options of `RecordingCallbackModule.forRoot` / the factory of `forRootAsync`.
 *
 * @example
 * RecordingCallbackModule.forRoot({ auth: { algorithm: 'HMACSHA256', keys: [key] }, queryGuards: [JwtGuard] })
 */
export interface RecordingCallbackModuleOptions {
  /** Signature settings (required; `'none'` must be said explicitly). */
  auth: RecordingCallbackAuth;
  /** Seconds a signature stays valid after `auth_timestamp` (default 300). */
  toleranceSeconds?: number;
  /**
   * Furthest `auth_timestamp` may lie ahead of now, in seconds (default 86400). Huawei documents the
   * field as the signature's expiry, so it may be ahead; without a bound a signature made for a time
   * years away would stay valid for years. Refused as 401 `expired` (logged as `timestamp_ahead`).
   */
  maxFutureSeconds?: number;
  /** Guards run before the query routes, e.g. the app's own auth guard (default none: open, with a warning). */
  queryGuards?: Array<Type<CanActivate> | CanActivate>;
  /**
   * Guards run before the routes that change state (delivery replay). Default: `queryGuards`. When both
   * are empty these routes are not open: they answer 403 until a guard is configured.
   */
  operationGuards?: Array<Type<CanActivate> | CanActivate>;
  /** Retries of failed handler deliveries. */
  delivery?: RecordingDeliveryOptions;
  /** Stalled-task watchdog: a RECORDING task silent this long is flagged once. */
  watchdog?: RecordingWatchdogOptions;
  /** Clock in milliseconds, for tests (default `Date.now`). */
  now?: () => number;
}

/**
 * Delivery retry settings.
 *
 * @example
 * { maxAttempts: 10, baseDelayMs: 2000, maxDelayMs: 600000 }
 */
export interface RecordingDeliveryOptions {
  /** Attempts before a delivery is dead (default 8). */
  maxAttempts?: number;
  /** Delay before the first retry; doubles each time (default 1000 ms). */
  baseDelayMs?: number;
  /** Longest delay between retries (default 15 minutes). */
  maxDelayMs?: number;
  /** How long a claimed delivery belongs to one instance before others may take it over (default 5 minutes). */
  leaseMs?: number;
  /** How often each instance looks for due retries and abandoned deliveries (default 1000 ms; 0 turns polling off). */
  pollIntervalMs?: number;
  /** On shutdown, how long running deliveries may take to finish (default 10000 ms). */
  shutdownGraceMs?: number;
  /** A handler call that takes longer counts as failed (default: half of `leaseMs`, at most 60000 ms). */
  handlerTimeoutMs?: number;
  /** Claims and deliveries running at once in one instance (default 32); 4× as many tasks are held in memory. */
  concurrency?: number;
}

/**
 * Stalled-task watchdog settings.
 *
 * @example
 * { stallAfterSeconds: 3600, checkIntervalMs: 30000 }
 */
export interface RecordingWatchdogOptions {
  /** A RECORDING task with no callback for this long is stalled (default 10800 = 3 hours). */
  stallAfterSeconds?: number;
  /** How often to check (default 60000 ms; 0 turns the periodic check off). */
  checkIntervalMs?: number;
}

/**
 * Options after validation, with defaults applied.
 *
 * @example
 * constructor(@InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions) {}
 */
export interface ResolvedRecordingCallbackOptions {
  auth: { domains: Map<string, RecordingCallbackKeySet>; fallback?: RecordingCallbackKeySet } | 'none';
  toleranceSeconds: number;
  maxFutureSeconds: number;
  queryGuards: Array<Type<CanActivate> | CanActivate>;
  operationGuards: Array<Type<CanActivate> | CanActivate>;
  delivery: Required<RecordingDeliveryOptions>;
  watchdog: Required<RecordingWatchdogOptions>;
  now: () => number;
}

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

const KEY_PATTERN = /^[A-Za-z0-9]{32,}$/;

function checkKeySet(path: string, set: RecordingCallbackKeySet | undefined): RecordingCallbackKeySet {
  if (!set || typeof set !== 'object') throw new RecordingCallbackOptionsError(path, 'must be { algorithm, keys }');
  if (!SIGNATURE_ALGORITHMS.includes(set.algorithm)) {
    throw new RecordingCallbackOptionsError(
      `${path}.algorithm`,
      `unknown algorithm ${JSON.stringify(set.algorithm)}; use ${SIGNATURE_ALGORITHMS.join(' or ')}`,
    );
  }
  if (!Array.isArray(set.keys) || set.keys.length === 0) {
    throw new RecordingCallbackOptionsError(`${path}.keys`, 'must list at least one key');
  }
  set.keys.forEach((key, i) => {
    // An unset environment variable (`keys: [process.env.KEY!]`) is the usual cause: say so, not "too short".
    if (key === undefined || key === null || key === '') {
      throw new RecordingCallbackOptionsError(
        `${path}.keys[${i}]`,
        `is ${key === '' ? 'empty' : String(key)}: the key is missing (is the environment variable that holds it set?)`,
      );
    }
    // Never echo the key itself: it is a secret.
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new RecordingCallbackOptionsError(
        `${path}.keys[${i}]`,
        'a key must be at least 32 characters, letters and digits only',
      );
    }
  });
  return { algorithm: set.algorithm, keys: [...set.keys] };
}

/**
 * Validates module options and fills defaults. Throws {@link RecordingCallbackOptionsError} naming the
 * option, so a misconfigured app stops at start-up instead of rejecting every callback.
 *
 * @example
 * resolveOptions({ auth: { algorithm: 'MD5', keys: [key] } }).toleranceSeconds; // 300
 */
export function resolveOptions(raw: RecordingCallbackModuleOptions): ResolvedRecordingCallbackOptions {
  if (!raw || typeof raw !== 'object') throw new RecordingCallbackOptionsError('options', 'must be an object');
  const tolerance = raw.toleranceSeconds ?? 300;
  if (!Number.isInteger(tolerance) || tolerance < 0) {
    throw new RecordingCallbackOptionsError('toleranceSeconds', 'must be a non-negative whole number of seconds');
  }
  const maxFutureSeconds = count('maxFutureSeconds', raw.maxFutureSeconds, 86_400, 0);
  const queryGuards = checkGuards('queryGuards', raw.queryGuards) ?? [];
  const operationGuards = checkGuards('operationGuards', raw.operationGuards) ?? queryGuards;
  if (raw.now !== undefined && typeof raw.now !== 'function') {
    throw new RecordingCallbackOptionsError('now', 'must be a function returning epoch milliseconds');
  }
  let auth: ResolvedRecordingCallbackOptions['auth'];
  if (raw.auth === 'none') {
    auth = 'none';
  } else if (raw.auth && typeof raw.auth === 'object' && 'domains' in raw.auth) {
    const entries = Object.entries(raw.auth.domains ?? {});
    if (entries.length === 0 && !raw.auth.fallback) {
      throw new RecordingCallbackOptionsError('auth.domains', 'must configure at least one domain');
    }
    auth = {
      domains: new Map(entries.map(([domain, set]) => [domain, checkKeySet(`auth.domains["${domain}"]`, set)])),
      fallback: raw.auth.fallback ? checkKeySet('auth.fallback', raw.auth.fallback) : undefined,
    };
  } else if (raw.auth && typeof raw.auth === 'object') {
    auth = { domains: new Map(), fallback: checkKeySet('auth', raw.auth) };
  } else {
    throw new RecordingCallbackOptionsError(
      'auth',
      "is required: { algorithm, keys }, { domains: {...} }, or 'none' to accept unsigned callbacks",
    );
  }
  const d = raw.delivery ?? {};
  const delivery = {
    maxAttempts: count('delivery.maxAttempts', d.maxAttempts, 8, 1),
    baseDelayMs: count('delivery.baseDelayMs', d.baseDelayMs, 1000, 0),
    maxDelayMs: count('delivery.maxDelayMs', d.maxDelayMs, 15 * 60_000, 0),
    leaseMs: count('delivery.leaseMs', d.leaseMs, 5 * 60_000, 1),
    pollIntervalMs: count('delivery.pollIntervalMs', d.pollIntervalMs, 1000, 0),
    shutdownGraceMs: count('delivery.shutdownGraceMs', d.shutdownGraceMs, 10_000, 0),
    handlerTimeoutMs: 0,
    concurrency: count('delivery.concurrency', d.concurrency, 32, 1),
  };
  // Past its lease a delivery may be taken over by another instance while the handler still runs, so
  // a handler must give up well before the lease ends.
  delivery.handlerTimeoutMs = count(
    'delivery.handlerTimeoutMs',
    d.handlerTimeoutMs,
    Math.max(1, Math.min(60_000, Math.floor(delivery.leaseMs / 2))),
    1,
  );
  if (delivery.handlerTimeoutMs >= delivery.leaseMs) {
    throw new RecordingCallbackOptionsError('delivery.handlerTimeoutMs', 'must be below delivery.leaseMs');
  }
  const w = raw.watchdog ?? {};
  const watchdog = {
    stallAfterSeconds: count('watchdog.stallAfterSeconds', w.stallAfterSeconds, 3 * 3600, 1),
    checkIntervalMs: count('watchdog.checkIntervalMs', w.checkIntervalMs, 60_000, 0),
  };
  return {
    auth,
    toleranceSeconds: tolerance,
    maxFutureSeconds,
    queryGuards,
    operationGuards,
    delivery,
    watchdog,
    now: raw.now ?? Date.now,
  };
}

function checkGuards(
  option: string,
  guards: RecordingCallbackModuleOptions['queryGuards'],
): Array<Type<CanActivate> | CanActivate> | undefined {
  if (guards === undefined) return undefined;
  if (!Array.isArray(guards)) throw new RecordingCallbackOptionsError(option, 'must be an array of guards');
  guards.forEach((guard, i) => {
    const isInstance = typeof guard === 'object' && guard !== null && typeof guard.canActivate === 'function';
    if (typeof guard !== 'function' && !isInstance) {
      throw new RecordingCallbackOptionsError(
        `${option}[${i}]`,
        'must be a guard class or an object with canActivate()',
      );
    }
  });
  return guards;
}

function count(option: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new RecordingCallbackOptionsError(option, `must be a whole number >= ${min}`);
  }
  return value;
}

/**
 * The key set that applies to a `publish_domain`, or `undefined` when the domain is not configured.
 *
 * @example
 * keySetFor(options.auth, body.publish_domain)?.algorithm;
 */
export function keySetFor(
  auth: Exclude<ResolvedRecordingCallbackOptions['auth'], 'none'>,
  publishDomain: string,
): RecordingCallbackKeySet | undefined {
  return auth.domains.get(publishDomain) ?? auth.fallback;
}

/** Algorithms in use, for the start-up warning about MD5. */
export function algorithmsInUse(auth: ResolvedRecordingCallbackOptions['auth']): Set<SignatureAlgorithm> {
  if (auth === 'none') return new Set();
  const sets = [...auth.domains.values(), ...(auth.fallback ? [auth.fallback] : [])];
  return new Set(sets.map((s) => s.algorithm));
}
