import { retryDelay } from '../delivery/backoff';
import type {
  RecordCallbackConfig,
  RecordCallbackConfigsPage,
  RecordContentItem,
  RecordContentsPage,
} from '../protocol/live-api';

/**
 * Where and as whom the client calls Huawei Live.
 *
 * @example
 * { ak, sk, projectId: 'p1', endpoint: 'https://live.cn-north-4.myhuaweicloud.com' }
 */
export interface HuaweiLiveClientSettings {
  ak: string;
  sk: string;
  projectId: string;
  /** Base URL of the Live API, e.g. `https://live.cn-north-4.myhuaweicloud.com` (no trailing path). */
  endpoint: string;
  /** Timeout of one request (default 10000 ms). */
  timeoutMs?: number;
  /** Attempts per request on 5xx, 429 or a network error (default 4). */
  attempts?: number;
  /** First retry delay, doubled each time (default 500 ms, at most 8000 ms). */
  baseDelayMs?: number;
  /** Waits between retries; tests pass a fake one (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A request Huawei answered with an error, or that failed on the way. `retryable` for 5xx, 429
 * (throttling) and network errors.
 *
 * @example
 * catch (e) { if (e instanceof HuaweiLiveApiError && e.status === 401) … }
 */
export class HuaweiLiveApiError extends Error {
  constructor(
    readonly status: number | null,
    readonly errorCode: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'HuaweiLiveApiError';
  }

  /** Whether trying again may help. */
  get retryable(): boolean {
    return this.status === null || this.status === 429 || this.status >= 500;
  }
}

/** Query of ListRecordContents (`start_time` required; times `yyyy-mm-ddThh:mm:ssZ`). */
export interface RecordContentsQuery {
  publish_domain?: string;
  app?: string;
  stream?: string;
  start_time: string;
  end_time?: string;
}

/** One answer with the server's Date header, for the clock check. */
interface Answer<T> {
  body: T;
  serverDate: Date | null;
}

/** What the SDK's HcClient.sendRequest takes (sdk-core 3.1.x). */
interface SdkRequest {
  method: string;
  url: string;
  contentType: string;
  pathParams: Record<string, string>;
  queryParams: Record<string, string | number>;
  headers: Record<string, string>;
  responseHeaders: string[];
}
interface SdkClient {
  sendRequest(r: SdkRequest): Promise<Record<string, unknown> & { httpStatusCode?: number }>;
}

/** Largest page ListRecordContents serves. */
export const PAGE_LIMIT = 100;
/** Pages one listing may take before it is cut off (100,000 files), so a run is bounded. */
const MAX_PAGES = 1000;

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * A thin typed client for the two read-only Live endpoints reconciliation needs. Signing (Huawei's
 * `SDK-HMAC-SHA256` with AK/SK) is done by `@huaweicloud/huaweicloud-sdk-core`, loaded on first use,
 * so an app that never enables reconciliation needs neither the package nor credentials. Retries
 * 5xx, 429 and network errors with exponential backoff; every status is judged here (the SDK is told
 * to accept all, so it neither throws nor logs request headers).
 *
 * @example
 * const client = new HuaweiLiveClient({ ak, sk, projectId, endpoint });
 * for await (const page of client.recordContents({ start_time: '2026-12-05T00:00:00Z' })) …
 */
export class HuaweiLiveClient {
  private sdk?: Promise<SdkClient>;
  /** Date header of the last answer, for the configuration check's clock comparison. */
  lastServerDate: Date | null = null;

  constructor(private readonly settings: HuaweiLiveClientSettings) {}

  /**
   * Every page of ListRecordContents for `query`. Huawei's `offset` is a page number (from 0), not an
   * item offset (the SDK models say "分页编号"); paging stops at a short page or once `total` is reached.
   */
  async *recordContents(query: RecordContentsQuery): AsyncGenerator<RecordContentItem[]> {
    let seen = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const { body } = await this.get<RecordContentsPage>('/v1/{project_id}/record/contents', {
        ...definedOnly({ ...query }),
        offset: page,
        limit: PAGE_LIMIT,
      });
      const items = Array.isArray(body.record_contents) ? body.record_contents : [];
      if (items.length > 0) yield items;
      seen += items.length;
      if (items.length < PAGE_LIMIT || seen >= Number(body.total ?? 0)) return;
    }
    throw new HuaweiLiveApiError(null, null, `ListRecordContents: more than ${MAX_PAGES} pages; use a shorter window`);
  }

  /** Every recording callback configuration of the project (optionally of one domain); `offset` pages as above. */
  async callbackConfigs(publishDomain?: string): Promise<RecordCallbackConfig[]> {
    const configs: RecordCallbackConfig[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const { body } = await this.get<RecordCallbackConfigsPage>('/v1/{project_id}/record/callbacks', {
        ...definedOnly({ publish_domain: publishDomain }),
        offset: page,
        limit: PAGE_LIMIT,
      });
      const items = Array.isArray(body.callback_config) ? body.callback_config : [];
      configs.push(...items);
      if (items.length < PAGE_LIMIT || configs.length >= Number(body.total ?? 0)) return configs;
    }
    return configs;
  }

  private async get<T>(url: string, query: Record<string, string | number>): Promise<Answer<T>> {
    const attempts = this.settings.attempts ?? 4;
    const sleep = this.settings.sleep ?? sleepFor;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(url, query);
      } catch (error) {
        const failure = asApiError(error);
        if (!failure.retryable || attempt >= attempts) throw failure;
        await sleep(retryDelay(attempt, this.settings.baseDelayMs ?? 500, 8000, Math.random));
      }
    }
  }

  private async once<T>(url: string, queryParams: Record<string, string | number>): Promise<Answer<T>> {
    const client = await this.client();
    const answer = await client.sendRequest({
      method: 'GET',
      url,
      contentType: 'application/json',
      pathParams: { project_id: this.settings.projectId },
      queryParams,
      headers: {},
      responseHeaders: ['Date'],
    });
    const status = Number(answer.httpStatusCode ?? 0);
    const date = typeof answer.Date === 'string' ? new Date(answer.Date) : null;
    if (date && !Number.isNaN(date.getTime())) this.lastServerDate = date;
    if (status < 200 || status >= 300) {
      const code = typeof answer.error_code === 'string' ? answer.error_code : null;
      const message = typeof answer.error_msg === 'string' ? answer.error_msg : `HTTP ${status}`;
      throw new HuaweiLiveApiError(status, code, `${url.replace('{project_id}/', '')}: ${status} ${message}`);
    }
    return { body: answer as T, serverDate: this.lastServerDate };
  }

  private client(): Promise<SdkClient> {
    this.sdk ??= loadSdk(this.settings).catch((error: unknown) => {
      this.sdk = undefined;
      throw error;
    });
    return this.sdk;
  }
}

/** Builds the sdk-core client; the package is imported here only, on first use. */
async function loadSdk(s: HuaweiLiveClientSettings): Promise<SdkClient> {
  let builder: { ClientBuilder: new (init: (c: SdkClient) => SdkClient) => SdkBuilder };
  let credentials: { BasicCredentials: new () => SdkCredentials };
  try {
    // Typed by the shapes below, so no SDK type reaches the package's declarations.
    builder = (await import('@huaweicloud/huaweicloud-sdk-core/ClientBuilder.js')) as unknown as typeof builder;
    credentials =
      (await import('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials.js')) as unknown as typeof credentials;
  } catch (error) {
    throw new Error(
      'reconciliation needs the packages @huaweicloud/huaweicloud-sdk-core and uuid: npm install ' +
        `@huaweicloud/huaweicloud-sdk-core uuid (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const credential = new credentials.BasicCredentials().withAk(s.ak).withSk(s.sk).withProjectId(s.projectId);
  const client = new builder.ClientBuilder((c) => c)
    .withCredential(credential)
    .withEndpoint(s.endpoint.replace(/\/+$/, ''))
    // Every status resolves: this client judges them, and the SDK has nothing to log for them.
    .withOptions({ axiosRequestConfig: { timeout: s.timeoutMs ?? 10_000, validateStatus: () => true } })
    .build();
  // sdk-core 3.1.x prints a failed request (a timeout, a refused connection) with its headers to stdout
  // through log4js, and offers no setting for it: its HTTP client's logger is replaced by a silent one.
  // This client reports failures itself, as HuaweiLiveApiError.
  const http = (client as unknown as { httpClient?: { _logger?: unknown } }).httpClient;
  if (http && typeof http === 'object') http._logger = SILENT;
  return client;
}

const SILENT = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface SdkCredentials {
  withAk(ak: string): SdkCredentials;
  withSk(sk: string): SdkCredentials;
  withProjectId(id: string): SdkCredentials;
}
interface SdkBuilder {
  withCredential(c: SdkCredentials): SdkBuilder;
  withEndpoint(e: string): SdkBuilder;
  withOptions(o: { axiosRequestConfig: Record<string, unknown> }): SdkBuilder;
  build(): SdkClient;
}

function asApiError(error: unknown): HuaweiLiveApiError {
  if (error instanceof HuaweiLiveApiError) return error;
  const e = (error ?? {}) as { httpStatusCode?: unknown; errorMsg?: unknown; message?: unknown };
  const status = typeof e.httpStatusCode === 'number' ? e.httpStatusCode : null;
  const text = typeof e.errorMsg === 'string' ? e.errorMsg : typeof e.message === 'string' ? e.message : String(error);
  return new HuaweiLiveApiError(status, null, text.slice(0, 500));
}

function definedOnly(query: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== '')) as Record<
    string,
    string
  >;
}
