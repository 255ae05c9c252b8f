import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordCallbackConfig, RecordContentItem } from '../../src/recording-callback/protocol/live-api';

/**
 * A fault the fake answers with instead of the real answer: a status (5xx, 429, 401…) with Huawei's
 * error body, and/or a delay before answering. Faults are used up in order by the requests they match.
 */
export interface FakeLiveFault {
  /** Which endpoint it applies to (default both). */
  endpoint?: 'contents' | 'callbacks';
  /** Only the request for this page (`offset`). */
  page?: number;
  /** Status to answer; undefined: answer normally after the delay. */
  status?: number;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
  /** How many matching requests it applies to (default 1). */
  times?: number;
}

/** One request the fake served, for assertions. */
export interface FakeLiveRequest {
  endpoint: 'contents' | 'callbacks' | 'other';
  query: Record<string, string>;
  status: number;
}

/** How the fake checks and answers. */
export interface FakeLiveSettings {
  ak: string;
  sk: string;
  projectId: string;
  /** Added to the Date header, to fake a skewed clock (default 0). */
  clockSkewMs?: number;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const AUTH = /^SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/;

/** RFC 3986 encoding of the SDK's signer: only A-Z a-z 0-9 - _ . ~ stay as they are. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Recomputes Huawei's `SDK-HMAC-SHA256` signature of a request (canonical request: method, URI with a
 * trailing slash, sorted query, the signed headers, the empty body's hash) and compares it with the
 * Authorization header. Returns null when valid, else why not.
 */
export function verifySdkSignature(req: IncomingMessage, ak: string, sk: string, nowMs: number): string | null {
  const match = AUTH.exec(String(req.headers.authorization ?? ''));
  if (!match) return 'no SDK-HMAC-SHA256 Authorization header';
  const [, access, signedHeaders, signature] = match;
  if (access !== ak) return 'unknown access key';
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-sdk-date')) return 'host and x-sdk-date must be signed';
  const date = String(req.headers['x-sdk-date'] ?? '');
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m) return 'bad X-Sdk-Date';
  const signedAt = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Math.abs(nowMs - signedAt) > 15 * 60_000) return 'X-Sdk-Date outside 15 minutes';
  const url = new URL(req.url ?? '/', 'http://fake');
  const path = url.pathname
    .split('/')
    .map((s) => rfc3986(decodeURIComponent(s)))
    .join('/');
  const query = [...url.searchParams.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .join('&');
  const headers = names.map((n) => `${n}:${String(req.headers[n] ?? '')}\n`).join('');
  const canonical = [
    req.method,
    path.endsWith('/') ? path : `${path}/`,
    query,
    headers,
    signedHeaders,
    EMPTY_SHA256,
  ].join('\n');
  const toSign = ['SDK-HMAC-SHA256', date, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const expected = createHmac('sha256', sk).update(toSign).digest();
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? null : 'signature mismatch';
}

/**
 * A fake Huawei Live API on loopback (real HTTP): ListRecordContents and ListRecordCallbackConfigs for
 * one project, with Huawei's paging (`offset` is a page number, `limit` 1..100), verifying every
 * request's AK/SK signature (401 APIGW.0301 otherwise), and faults to inject: 5xx, 429, slow answers,
 * and a listing the test may change between pages (`beforeAnswer`).
 *
 * @example
 * const live = await FakeHuaweiLive.start({ ak, sk, projectId });
 * live.contents.push(item); live.faults.push({ endpoint: 'contents', page: 1, status: 503 });
 */
export class FakeHuaweiLive {
  /** The recorded files ListRecordContents serves. */
  contents: RecordContentItem[] = [];
  /** The callback configurations ListRecordCallbackConfigs serves. */
  callbackConfigs: RecordCallbackConfig[] = [];
  faults: FakeLiveFault[] = [];
  readonly requests: FakeLiveRequest[] = [];
  /**
   * Awaited before each answer of ListRecordContents: to change the listing between pages, or to hold a
   * run in the middle of its listing while the test does something else.
   */
  beforeAnswer?: (page: number) => void | Promise<void>;

  private constructor(
    private readonly server: Server,
    readonly settings: FakeLiveSettings,
  ) {}

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Starts the fake on a free loopback port (or `port`). */
  static async start(settings: FakeLiveSettings, port = 0): Promise<FakeHuaweiLive> {
    const server = createServer((req, res) => void fake.handle(req, res));
    const fake = new FakeHuaweiLive(server, settings);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return fake;
  }

  /** Requests of ListRecordContents served so far. */
  contentRequests(): FakeLiveRequest[] {
    return this.requests.filter((r) => r.endpoint === 'contents');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const base = `/v1/${this.settings.projectId}/record/`;
    const endpoint =
      url.pathname === `${base}contents` ? 'contents' : url.pathname === `${base}callbacks` ? 'callbacks' : 'other';
    const answer = (status: number, body: unknown) => {
      this.requests.push({ endpoint, query, status });
      res.writeHead(status, {
        'content-type': 'application/json',
        date: new Date(Date.now() + (this.settings.clockSkewMs ?? 0)).toUTCString(),
      });
      res.end(JSON.stringify(body));
    };
    const problem = verifySdkSignature(req, this.settings.ak, this.settings.sk, Date.now());
    if (problem)
      return answer(401, { error_code: 'APIGW.0301', error_msg: `Incorrect IAM authentication: ${problem}` });
    if (req.method !== 'GET' || endpoint === 'other')
      return answer(404, { error_code: 'LIVE.100011001', error_msg: 'not found' });
    const page = Number(query.offset ?? 0);
    const limit = Number(query.limit ?? 10);
    if (!Number.isInteger(page) || page < 0 || !Number.isInteger(limit) || limit < 1 || limit > 100) {
      return answer(400, { error_code: 'LIVE.100011001', error_msg: 'invalid offset or limit' });
    }
    const fault = this.takeFault(endpoint, page);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs).unref());
    if (fault?.status) {
      const code = fault.status === 429 ? 'APIGW.0308' : 'LIVE.100500';
      return answer(fault.status, { error_code: code, error_msg: fault.status === 429 ? 'throttled' : 'server error' });
    }
    if (endpoint === 'callbacks') {
      const all = this.callbackConfigs.filter(
        (c) => !query.publish_domain || c.publish_domain === query.publish_domain,
      );
      return answer(200, { total: all.length, callback_config: all.slice(page * limit, (page + 1) * limit) });
    }
    if (!query.start_time) return answer(400, { error_code: 'LIVE.100011001', error_msg: 'start_time is required' });
    await this.beforeAnswer?.(page);
    const all = this.contents.filter((item) => listed(item, query));
    answer(200, { total: all.length, record_contents: all.slice(page * limit, (page + 1) * limit) });
  }

  private takeFault(endpoint: string, page: number): FakeLiveFault | undefined {
    const i = this.faults.findIndex(
      (f) => (!f.endpoint || f.endpoint === endpoint) && (f.page === undefined || f.page === page),
    );
    if (i < 0) return undefined;
    const fault = this.faults[i];
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.faults.splice(i, 1);
    return fault;
  }
}

/** Whether an item is within the query's filters and its time range overlaps the window. */
function listed(item: RecordContentItem, q: Record<string, string>): boolean {
  for (const f of ['publish_domain', 'app', 'stream'] as const) if (q[f] && item[f] !== q[f]) return false;
  const start = Date.parse(item.start_time ?? '');
  const end = Date.parse(item.end_time ?? item.start_time ?? '');
  if (Date.parse(q.start_time) > end) return false;
  return !q.end_time || start <= Date.parse(q.end_time);
}
