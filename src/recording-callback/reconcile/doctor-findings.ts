import { SUBSCRIBABLE_EVENTS } from '../protocol/live-api';
import type { RecordCallbackConfig } from '../protocol/live-api';
import type { RecordingCallbackKeySet } from '../recording-callback.options';

/**
 * One problem the configuration check found, with what to do about it.
 *
 * @example
 * { code: 'sign_type_mismatch', severity: 'error', domain: 'push.example.com', message: '…', fix: '…' }
 */
export interface DoctorFinding {
  code:
    | 'no_configuration'
    | 'callback_url_mismatch'
    | 'sign_type_mismatch'
    | 'md5_in_use'
    | 'event_not_subscribed'
    | 'auth_off'
    | 'key_format'
    | 'clock_offset'
    | 'database_unreachable'
    | 'api_unreachable';
  severity: 'error' | 'warning';
  domain?: string;
  message: string;
  fix: string;
}

/**
 * Everything the pure check compares: Huawei's configurations, the module's keys, the events the
 * app's handlers listen to, and the local measurements.
 */
export interface DoctorInput {
  /** Huawei's recording callback configurations; null when they could not be read. */
  configs: RecordCallbackConfig[] | null;
  /** Why they could not be read. */
  apiError?: string;
  /** Key sets the module has per domain, the fallback for other domains, or 'none'. */
  auth: { domains: Map<string, RecordingCallbackKeySet>; fallback?: RecordingCallbackKeySet } | 'none';
  /** Domains that must have a configuration (the module's domains and the reconciled ones). */
  domains: string[];
  /** Huawei event types some handler listens to (e.g. RECORD_OVER). */
  listened: string[];
  /** The public URL Huawei should call, when the app knows it. */
  callbackUrl: string | null;
  /** Huawei's clock minus ours, in milliseconds (from the answer's Date header); null when unknown. */
  clockOffsetMs: number | null;
  /** Seconds a callback signature stays valid (the module's `toleranceSeconds`). */
  toleranceSeconds: number;
  /** Null when the database answered, else its error. */
  databaseError: string | null;
}

/** A clock further off than this is worth a warning even within the signature tolerance. */
const CLOCK_WARN_MS = 30_000;
const KEY_PATTERN = /^[A-Za-z0-9]{32,}$/;

/**
 * Checks the callback configuration end to end (pure): each finding names what is wrong and the fix.
 * An empty list means nothing was found.
 *
 * @example
 * const findings = diagnose({ configs, auth, domains: ['push.example.com'], listened: ['RECORD_OVER'], … });
 */
export function diagnose(input: DoctorInput): DoctorFinding[] {
  const out: DoctorFinding[] = [];
  if (input.databaseError !== null) {
    out.push({
      code: 'database_unreachable',
      severity: 'error',
      message: `the database does not answer: ${input.databaseError}`,
      fix: 'check DATABASE_URL / the DataSource and that the database is up; callbacks are answered 503 meanwhile',
    });
  }
  if (input.auth === 'none') {
    out.push({
      code: 'auth_off',
      severity: 'warning',
      message: 'callback authentication is off (auth: "none")',
      fix: "enable HMACSHA256 in Huawei's callback configuration and give the module its key",
    });
  } else {
    for (const [domain, set] of [...input.auth.domains, ['(fallback)', input.auth.fallback] as const]) {
      if (set && set.keys.some((k) => !KEY_PATTERN.test(k))) {
        out.push({
          code: 'key_format',
          severity: 'error',
          domain,
          message: 'a callback key is not at least 32 letters and digits',
          fix: 'generate a key of 32 or more letters and digits and set it on both sides',
        });
      }
    }
  }
  if (input.clockOffsetMs !== null && Math.abs(input.clockOffsetMs) > CLOCK_WARN_MS) {
    const seconds = Math.round(input.clockOffsetMs / 1000);
    const beyond = Math.abs(input.clockOffsetMs) > input.toleranceSeconds * 1000;
    out.push({
      code: 'clock_offset',
      severity: beyond ? 'error' : 'warning',
      message: `this host's clock is ${Math.abs(seconds)} s ${seconds > 0 ? 'behind' : 'ahead of'} Huawei's`,
      fix: 'synchronise the clock (NTP); signatures are judged against auth_timestamp with toleranceSeconds',
    });
  }
  if (input.configs === null) {
    out.push({
      code: 'api_unreachable',
      severity: 'error',
      message: `Huawei's callback configurations could not be read: ${input.apiError ?? 'unknown error'}`,
      fix: 'check the AK/SK (read-only Live permission), the project id and the region or endpoint',
    });
    return out;
  }
  for (const domain of input.domains) {
    if (!input.configs.some((c) => c.publish_domain === domain)) {
      out.push({
        code: 'no_configuration',
        severity: 'error',
        domain,
        message: `Huawei has no recording callback configuration for ${domain}`,
        fix: `create one (CreateRecordCallbackConfig) for ${domain} pointing at the app's callback URL`,
      });
    }
  }
  for (const config of input.configs) out.push(...checkConfig(config, input));
  return out;
}

function checkConfig(config: RecordCallbackConfig, input: DoctorInput): DoctorFinding[] {
  const out: DoctorFinding[] = [];
  const domain = config.publish_domain;
  const set = input.auth === 'none' ? undefined : (input.auth.domains.get(domain) ?? input.auth.fallback);
  if (input.auth !== 'none' && !set) return out; // another app's domain
  const url = config.notify_callback_url ?? '';
  if (input.callbackUrl !== null && url !== input.callbackUrl) {
    out.push({
      code: 'callback_url_mismatch',
      severity: 'error',
      domain,
      message: `Huawei calls ${JSON.stringify(url)}, the app listens at ${JSON.stringify(input.callbackUrl)}`,
      fix: `set notify_callback_url of ${domain} to ${input.callbackUrl}`,
    });
  }
  // Huawei's default when sign_type is omitted is HMACSHA256.
  const signType = (config.sign_type ?? 'HMACSHA256').toUpperCase();
  if (set && signType !== set.algorithm) {
    out.push({
      code: 'sign_type_mismatch',
      severity: 'error',
      domain,
      message: `Huawei signs with ${signType}, the module expects ${set.algorithm}`,
      fix: `make both the same, preferably HMACSHA256 (sign_type of ${domain} and the module's auth)`,
    });
  }
  if (signType === 'MD5') {
    out.push({
      code: 'md5_in_use',
      severity: 'warning',
      domain,
      message: 'MD5 signatures cover only the key and timestamp, no field of the callback',
      fix: `switch ${domain} to HMACSHA256 on both sides`,
    });
  }
  // A configuration created without the field subscribes to RECORD_FILE_COMPLETE only.
  const subscribed = config.notify_event_subscription?.length
    ? config.notify_event_subscription
    : ['RECORD_FILE_COMPLETE'];
  for (const event of input.listened) {
    if (subscribed.includes(event)) continue;
    const subscribable = (SUBSCRIBABLE_EVENTS as readonly string[]).includes(event);
    out.push({
      code: 'event_not_subscribed',
      severity: 'warning',
      domain,
      message: `a handler listens to ${event}, which ${domain}'s configuration does not subscribe to`,
      fix: subscribable
        ? `add ${event} to notify_event_subscription of ${domain}`
        : `Huawei cannot subscribe to ${event}; use RECORD_NEW_FILE_START instead`,
    });
  }
  return out;
}
