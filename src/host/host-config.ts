import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RecordingReconcileOptions, SignatureAlgorithm } from '../recording-callback';
import { DEFAULT_HTTP_TIMEOUTS } from './http-setup';
import type { HttpTimeouts } from './http-setup';

/**
 * The host app's settings, read from the environment (see README "Host app environment").
 *
 * @example
 * const config = loadHostConfig(process.env);
 */
export interface HostConfig {
  port: number;
  databaseUrl?: string;
  sqlitePath: string;
  poolSize: number;
  /** PostgreSQL: named prepared statements (`DATABASE_PREPARED_STATEMENTS`, default off). */
  preparedStatements?: boolean;
  algorithm: SignatureAlgorithm;
  keys: string[];
  /** True when no key was configured and a development key was generated or reused. */
  devKey: boolean;
  toleranceSeconds: number;
  /** How far ahead `auth_timestamp` may be (`RECORDING_CALLBACK_MAX_FUTURE_SECONDS`, default 86400). */
  maxFutureSeconds?: number;
  queryToken?: string;
  /** Swagger UI at /docs and the JSON at /docs-json (`RECORDING_API_DOCS`, default on). */
  apiDocs?: boolean;
  /** Log lines as JSON (`LOG_FORMAT=json`, the default) or Nest's coloured text (`LOG_FORMAT=text`). */
  logFormat?: 'json' | 'text';
  /** Node HTTP server timeouts (`HTTP_HEADERS_TIMEOUT_MS`, `HTTP_REQUEST_TIMEOUT_MS`, `HTTP_KEEP_ALIVE_TIMEOUT_MS`). */
  http?: HttpTimeouts;
  /** Prometheus metrics at /metrics (`RECORDING_METRICS`, default on; `off` disables). */
  metrics?: boolean;
  /** Thresholds of /health (`RECORDING_HEALTH_*`); unset ones take the library defaults. */
  health?: {
    maxBacklog?: number;
    maxDeadLetters?: number;
    maxSilenceSeconds?: number;
    maxReconcileAgeSeconds?: number;
  };
  /** Reconciliation, when `HUAWEI_CLOUD_AK`, `HUAWEI_CLOUD_SK` and `HUAWEI_CLOUD_PROJECT_ID` are set. */
  reconcile?: RecordingReconcileOptions;
}

/**
 * Reconciliation settings from the environment: on when the AK, SK and project id are all set, off when
 * none is; a partial set is an error naming what is missing. `HUAWEI_LIVE_ENDPOINT` wins over
 * `HUAWEI_CLOUD_REGION`; periodic runs only with `RECORDING_RECONCILE_INTERVAL_SECONDS` above 0.
 *
 * @example
 * reconcileFromEnv({ HUAWEI_CLOUD_AK: 'ak', HUAWEI_CLOUD_SK: 'sk', HUAWEI_CLOUD_PROJECT_ID: 'p', HUAWEI_CLOUD_REGION: 'cn-north-4' });
 */
export function reconcileFromEnv(env: NodeJS.ProcessEnv): RecordingReconcileOptions | undefined {
  const names = ['HUAWEI_CLOUD_AK', 'HUAWEI_CLOUD_SK', 'HUAWEI_CLOUD_PROJECT_ID'] as const;
  const missing = names.filter((n) => !env[n]);
  if (missing.length === names.length) return undefined;
  if (missing.length > 0)
    throw new Error(`reconciliation needs ${missing.join(' and ')} too (or none of ${names.join(', ')})`);
  const endpoint = env.HUAWEI_LIVE_ENDPOINT || undefined;
  const region = env.HUAWEI_CLOUD_REGION || undefined;
  if (!endpoint && !region) throw new Error('reconciliation needs HUAWEI_CLOUD_REGION or HUAWEI_LIVE_ENDPOINT');
  const domains = (env.RECORDING_RECONCILE_DOMAINS ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  return {
    credentials: { ak: env.HUAWEI_CLOUD_AK!, sk: env.HUAWEI_CLOUD_SK! },
    projectId: env.HUAWEI_CLOUD_PROJECT_ID!,
    ...(endpoint ? { endpoint } : { region }),
    intervalSeconds: integer(env, 'RECORDING_RECONCILE_INTERVAL_SECONDS', 0, 0),
    windowSeconds: integer(env, 'RECORDING_RECONCILE_WINDOW_SECONDS', 21_600, 60),
    ...(domains.length ? { domains } : {}),
    ...(env.RECORDING_PUBLIC_CALLBACK_URL ? { callbackUrl: env.RECORDING_PUBLIC_CALLBACK_URL } : {}),
    checkAtStartup: flag(env, 'RECORDING_DOCTOR_AT_STARTUP', false),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be a whole number >= ${min}, got "${text}"`);
  return value;
}

/** Development key: generated once, kept beside the SQLite file so restarts keep accepting it. */
function developmentKey(folder: string): string {
  const file = join(folder, 'dev-callback-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(folder, { recursive: true });
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const key = [...randomBytes(40)].map((b) => alphabet[b % alphabet.length]).join('');
  writeFileSync(file, key + '\n', { mode: 0o600 });
  return key;
}

/**
 * Reads and checks the host app environment. Throws an error naming the variable at fault.
 *
 * @example
 * loadHostConfig({ RECORDING_CALLBACK_KEYS: 'k1,k2', PORT: '8080' }).keys; // ['k1', 'k2']
 */
export function loadHostConfig(env: NodeJS.ProcessEnv): HostConfig {
  const algorithm = (env.RECORDING_CALLBACK_ALGORITHM || 'HMACSHA256').toUpperCase();
  if (algorithm !== 'HMACSHA256' && algorithm !== 'MD5') {
    throw new Error(`RECORDING_CALLBACK_ALGORITHM must be HMACSHA256 or MD5, got "${algorithm}"`);
  }
  const sqlitePath = env.SQLITE_PATH || 'data/recordings.sqlite';
  const configured = (env.RECORDING_CALLBACK_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const devKey = configured.length === 0;
  const logFormat = (env.LOG_FORMAT || 'json').toLowerCase();
  if (logFormat !== 'json' && logFormat !== 'text')
    throw new Error(`LOG_FORMAT must be json or text, got "${env.LOG_FORMAT}"`);
  const http: HttpTimeouts = {
    headersTimeoutMs: integer(env, 'HTTP_HEADERS_TIMEOUT_MS', DEFAULT_HTTP_TIMEOUTS.headersTimeoutMs, 1),
    requestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', DEFAULT_HTTP_TIMEOUTS.requestTimeoutMs, 1),
    keepAliveTimeoutMs: integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', DEFAULT_HTTP_TIMEOUTS.keepAliveTimeoutMs, 1),
  };
  // Node refuses a headers timeout longer than the request timeout.
  if (http.headersTimeoutMs > http.requestTimeoutMs) {
    throw new Error('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  return {
    port: integer(env, 'PORT', 3000, 0),
    databaseUrl: env.DATABASE_URL || undefined,
    sqlitePath,
    poolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1),
    preparedStatements: flag(env, 'DATABASE_PREPARED_STATEMENTS', false),
    algorithm,
    keys: devKey ? [developmentKey(dirname(sqlitePath) === '.' ? 'data' : dirname(sqlitePath))] : configured,
    devKey,
    toleranceSeconds: integer(env, 'RECORDING_CALLBACK_TOLERANCE_SECONDS', 300, 0),
    maxFutureSeconds: integer(env, 'RECORDING_CALLBACK_MAX_FUTURE_SECONDS', 86_400, 0),
    queryToken: env.RECORDING_QUERY_TOKEN || undefined,
    apiDocs: flag(env, 'RECORDING_API_DOCS', true),
    logFormat,
    http,
    metrics: flag(env, 'RECORDING_METRICS', true),
    health: {
      maxBacklog: optionalInteger(env, 'RECORDING_HEALTH_MAX_BACKLOG', 0),
      maxDeadLetters: optionalInteger(env, 'RECORDING_HEALTH_MAX_DEAD_LETTERS', 0),
      maxSilenceSeconds: optionalInteger(env, 'RECORDING_HEALTH_MAX_SILENCE_SECONDS', 1),
      maxReconcileAgeSeconds: optionalInteger(env, 'RECORDING_HEALTH_MAX_RECONCILE_AGE_SECONDS', 1),
    },
    reconcile: reconcileFromEnv(env),
  };
}

function optionalInteger(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  return env[name] === undefined || env[name] === '' ? undefined : integer(env, name, 0, min);
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const text = (env[name] ?? '').trim().toLowerCase();
  if (text === '') return fallback;
  if (['on', 'true', '1', 'yes'].includes(text)) return true;
  if (['off', 'false', '0', 'no'].includes(text)) return false;
  throw new Error(`${name} must be on or off, got "${env[name]}"`);
}
