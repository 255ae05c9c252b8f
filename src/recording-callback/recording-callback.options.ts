import type { CanActivate, Type } from '@nestjs/common';
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
  /** Group commit of incoming callbacks: how many share one transaction, and how many run at once. */
  ingest?: RecordingIngestOptions;
  /** How statements reach the database. */
  database?: RecordingDatabaseOptions;
  /** Retries of failed handler deliveries. */
  delivery?: RecordingDeliveryOptions;
  /** Stalled-task watchdog: a RECORDING task silent this long is flagged once. */
  watchdog?: RecordingWatchdogOptions;
  /**
   * Reconciliation against Huawei Live's recording listing, and the configuration check (doctor). Off
   * unless given; needs `@huaweicloud/huaweicloud-sdk-core` and `uuid` installed.
   */
  reconcile?: RecordingReconcileOptions;
  /** Clock in milliseconds, for tests (default `Date.now`). */
  now?: () => number;
}

/**
 * Reconciliation settings: the account that reads Huawei Live's listing (read-only Live permissions
 * suffice), where, and how often.
 *
 * @example
 * { credentials: { ak: process.env.HUAWEI_CLOUD_AK!, sk: process.env.HUAWEI_CLOUD_SK! },
 *   projectId: process.env.HUAWEI_CLOUD_PROJECT_ID!, region: 'cn-north-4', intervalSeconds: 600 }
 */
export interface RecordingReconcileOptions {
  /** Access key and secret key of an IAM user allowed to read Live (e.g. `Live ReadOnlyAccess`). */
  credentials: { ak: string; sk: string };
  /** The project id of the region (IAM "My Credentials" → Projects). */
  projectId: string;
  /** Region of the Live API, e.g. `cn-north-4` (endpoint `https://live.<region>.myhuaweicloud.com`). */
  region?: string;
  /** Full base URL of the Live API; wins over `region` (e.g. a proxy, or a fake API in tests). */
  endpoint?: string;
  /** How far back a periodic run looks, in seconds (default 21600 = 6 hours; at most 30 days). */
  windowSeconds?: number;
  /** Seconds between periodic runs (default 600; 0: only on demand). */
  intervalSeconds?: number;
  /** Ingest domains to list (one listing per domain); default: one listing over the whole project. */
  domains?: string[];
  /** The public URL Huawei should call (`notify_callback_url`), for the configuration check. */
  callbackUrl?: string;
  /** Run the configuration check at start-up and log its findings (default false). */
  checkAtStartup?: boolean;
  /** Timeout of one API request in milliseconds (default 10000). */
  requestTimeoutMs?: number;
  /** Start and end times within this many seconds make a listed file the same as a stored one (default 5). */
  matchToleranceSeconds?: number;
}

/**
 * Reconciliation settings after validation, with the endpoint worked out and defaults applied.
 *
 * @example
 * options.reconcile?.endpoint; // 'https://live.cn-north-4.myhuaweicloud.com'
 */
export interface ResolvedReconcileOptions {
  ak: string;
  sk: string;
  projectId: string;
  endpoint: string;
  windowSeconds: number;
  intervalSeconds: number;
  domains: string[];
  callbackUrl: string | null;
  checkAtStartup: boolean;
  requestTimeoutMs: number;
  matchToleranceSeconds: number;
}

/**
 * Group commit of incoming callbacks on PostgreSQL. Callbacks that arrive within the same few event-loop
 * turns are stored in one transaction (a fixed number of statements per batch) and each is answered
 * after that commit; a callback that fails is retried alone, so it never fails the others. (On SQLite
 * the module's group commit shares transactions by itself, and these options have no effect.)
 *
 * @example
 * { batchSize: 128, batchWaitMs: 4, concurrency: 4 }
 */
export interface RecordingIngestOptions {
  /** Most callbacks one transaction stores (default 128, at most 1000). */
  batchSize?: number;
  /** Longest time, in ms, a callback waits for others to join its transaction (default 4; 0: no waiting beyond one event-loop turn). */
  batchWaitMs?: number;
  /**
   * Transactions of callbacks in flight at once, each on a pooled connection of its own (default 4;
   * keep it below the pool size, which deliveries and queries share).
   */
  concurrency?: number;
}

/**
 * Database settings.
 *
 * @example
 * { preparedStatements: true } // PostgreSQL without PgBouncer in transaction mode (or PgBouncer >= 1.21)
 */
export interface RecordingDatabaseOptions {
  /**
   * PostgreSQL: send the module's short statements as named prepared statements, parsed once per text on
   * each pooled connection, at most 200 per connection (long multi-row texts, which change with the row
   * count, go unnamed). Default false: PgBouncer in transaction mode before 1.21 breaks on them (1.21 and
   * later need `max_prepared_statements` above 0), TypeORM's query subscribers do not see them, and after
   * a migration that changes a table's columns each connection fails a prepared `RETURNING *` once
   * (restart the instances). Measured slower than unnamed statements (BENCHMARKS.md). No effect on SQLite.
   */
  preparedStatements?: boolean;
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
  /**
   * Whether this process runs deliveries (default true). With false it still stores them, and lists and
   * replays them, but never calls a handler: for operator tools and instances that only receive.
   */
  run?: boolean;
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
  ingest: Required<RecordingIngestOptions>;
  database: Required<RecordingDatabaseOptions>;
  delivery: Required<RecordingDeliveryOptions>;
  watchdog: Required<RecordingWatchdogOptions>;
  /** Null when reconciliation is not enabled. */
  reconcile: ResolvedReconcileOptions | null;
  now: () => number;
}
