import { count, RecordingCallbackOptionsError } from './recording-callback.options-error';
import type { RecordingReconcileOptions, ResolvedReconcileOptions } from './recording-callback.options';

/** Huawei keeps its recording listing about 30 days: a longer window finds nothing more. */
const MAX_WINDOW_SECONDS = 30 * 86_400;

function text(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new RecordingCallbackOptionsError(option, 'is missing (is the environment variable that holds it set?)');
  }
  return value.trim();
}

/**
 * Validates `reconcile` and works out the endpoint (an explicit one wins over the region's).
 *
 * @example
 * resolveReconcile({ credentials: { ak, sk }, projectId, region: 'cn-north-4' }).endpoint;
 */
export function resolveReconcile(r: RecordingReconcileOptions): ResolvedReconcileOptions {
  if (!r || typeof r !== 'object') throw new RecordingCallbackOptionsError('reconcile', 'must be an object');
  const ak = text('reconcile.credentials.ak', r.credentials?.ak);
  const sk = text('reconcile.credentials.sk', r.credentials?.sk);
  const projectId = text('reconcile.projectId', r.projectId);
  let endpoint: string;
  if (r.endpoint !== undefined && r.endpoint !== '') {
    if (typeof r.endpoint !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(r.endpoint)) {
      throw new RecordingCallbackOptionsError(
        'reconcile.endpoint',
        'must be a base URL such as https://live.cn-north-4.myhuaweicloud.com',
      );
    }
    endpoint = r.endpoint.replace(/\/+$/, '');
  } else if (typeof r.region === 'string' && /^[a-z0-9-]+$/.test(r.region)) {
    endpoint = `https://live.${r.region}.myhuaweicloud.com`;
  } else {
    throw new RecordingCallbackOptionsError(
      'reconcile.region',
      'or reconcile.endpoint is required (e.g. region cn-north-4)',
    );
  }
  const domains = r.domains ?? [];
  if (!Array.isArray(domains) || domains.some((d) => typeof d !== 'string' || d === '')) {
    throw new RecordingCallbackOptionsError('reconcile.domains', 'must be a list of ingest domain names');
  }
  if (r.callbackUrl !== undefined && (typeof r.callbackUrl !== 'string' || !/^https?:\/\//.test(r.callbackUrl))) {
    throw new RecordingCallbackOptionsError('reconcile.callbackUrl', 'must be an http(s) URL');
  }
  const windowSeconds = count('reconcile.windowSeconds', r.windowSeconds, 21_600, 60);
  if (windowSeconds > MAX_WINDOW_SECONDS) {
    throw new RecordingCallbackOptionsError(
      'reconcile.windowSeconds',
      `must be at most ${MAX_WINDOW_SECONDS} (30 days)`,
    );
  }
  return {
    ak,
    sk,
    projectId,
    endpoint,
    windowSeconds,
    intervalSeconds: count('reconcile.intervalSeconds', r.intervalSeconds, 600, 0),
    domains: [...domains],
    callbackUrl: r.callbackUrl ?? null,
    checkAtStartup: r.checkAtStartup === true,
    requestTimeoutMs: count('reconcile.requestTimeoutMs', r.requestTimeoutMs, 10_000, 1),
    matchToleranceSeconds: count('reconcile.matchToleranceSeconds', r.matchToleranceSeconds, 5, 0),
  };
}
