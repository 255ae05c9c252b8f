import type { CanActivate, Type } from '@nestjs/common';
import { SIGNATURE_ALGORITHMS } from './protocol/signature';
import type { SignatureAlgorithm } from './protocol/signature';
import type {
  RecordingCallbackKeySet,
  RecordingCallbackModuleOptions,
  ResolvedRecordingCallbackOptions,
} from './recording-callback.options';
import { count, RecordingCallbackOptionsError } from './recording-callback.options-error';
import { resolveReconcile } from './recording-callback.reconcile-options';

export { RecordingCallbackOptionsError };

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
  const i = raw.ingest ?? {};
  const ingest = {
    batchSize: count('ingest.batchSize', i.batchSize, 128, 1),
    batchWaitMs: count('ingest.batchWaitMs', i.batchWaitMs, 4, 0),
    concurrency: count('ingest.concurrency', i.concurrency, 4, 1),
  };
  // Each callback takes up to 14 parameters in one statement; SQLite allows 32766 per statement. PostgreSQL's
  // one write of a batch takes up to 48 per callback, of the 65535 it allows (beyond, the writes go one by one).
  if (ingest.batchSize > 1000) throw new RecordingCallbackOptionsError('ingest.batchSize', 'must be at most 1000');
  const database = { preparedStatements: raw.database?.preparedStatements ?? false };
  if (typeof database.preparedStatements !== 'boolean')
    throw new RecordingCallbackOptionsError('database.preparedStatements', 'must be true or false');
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
    run: d.run ?? true,
  };
  if (typeof delivery.run !== 'boolean')
    throw new RecordingCallbackOptionsError('delivery.run', 'must be true or false');
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
    ingest,
    database,
    delivery,
    watchdog,
    reconcile: raw.reconcile === undefined ? null : resolveReconcile(raw.reconcile),
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
