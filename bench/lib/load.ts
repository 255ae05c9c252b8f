import autocannon from 'autocannon';

/**
 * Latency histogram with 10 µs buckets up to 10 s (larger values go to the last bucket): exact enough
 * for p50/p99 of sub-millisecond queries, constant memory for a million requests.
 */
export class LatencyHistogram {
  private readonly buckets = new Uint32Array(1_000_001);
  count = 0;
  max = 0;
  private sum = 0;

  record(ms: number): void {
    const i = Math.min(this.buckets.length - 1, Math.max(0, Math.round(ms * 100)));
    this.buckets[i]++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  get mean(): number {
    return this.count ? this.sum / this.count : 0;
  }

  /** Value (ms) below which `p` percent of the recorded latencies fall. */
  percentile(p: number): number {
    if (!this.count) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank) return i / 100;
    }
    return this.max;
  }
}

/** Outcome of one measured load phase. */
export interface LoadResult {
  connections: number;
  durationS: number;
  /** Responses received (any status). */
  responses: number;
  ok2xx: number;
  non2xx: number;
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  /** 2xx answers per second over the phase. */
  okPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  /** autocannon's own p99 (1 ms resolution), as a cross-check. */
  autocannonP99: number;
}

/** What a load phase sends: a fixed request, or one built per request (path and/or body). */
export interface LoadSpec {
  port: number;
  method: 'GET' | 'POST';
  /** Path of every request, or a function giving the next one. */
  path: string | (() => string);
  /** Body of the next request (POST). */
  body?: () => Buffer;
  headers?: Record<string, string>;
  connections: number;
  /** Seconds; ignored when `amount` is given. */
  durationS?: number;
  /** Total requests to send (the soak). */
  amount?: number;
  /** Stops the phase after this many seconds even if `amount` was not reached. */
  maxS?: number;
  /** Called once a second with the responses so far (progress, RSS sampling). */
  onTick?: (responses: number) => void;
}

/** Runs one autocannon phase against 127.0.0.1 and returns its figures. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const histogram = new LatencyHistogram();
  const statusCounts: Record<string, number> = {};
  let responses = 0;
  const nextPath = typeof spec.path === 'function' ? spec.path : () => spec.path as string;
  const headers = { 'content-type': 'application/json', ...spec.headers };
  const started = Date.now();
  let settle!: (r: { error: unknown; result: autocannon.Result }) => void;
  const finished = new Promise<{ error: unknown; result: autocannon.Result }>((res) => (settle = res));
  const options = {
    url: `http://127.0.0.1:${spec.port}`,
    method: spec.method,
    headers,
    connections: spec.connections,
    pipelining: 1,
    timeout: 10,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.durationS ?? 10 }),
    requests: [
      {
        setupRequest: (req: autocannon.Request) => {
          req.path = nextPath();
          if (spec.body) req.body = spec.body();
          return req;
        },
      },
    ],
  } as autocannon.Options;
  const instance = autocannon(options, (error, result) => settle({ error, result }));
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    responses++;
    statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    histogram.record(responseTime);
  });
  const tick = spec.onTick ? setInterval(() => spec.onTick!(responses), 1000) : undefined;
  const limit = spec.maxS ? setTimeout(() => instance.stop(), spec.maxS * 1000) : undefined;
  const { error, result } = await finished.finally(() => {
    clearInterval(tick);
    clearTimeout(limit);
  });
  if (error) throw error;
  const durationS = result.duration || (Date.now() - started) / 1000;
  const ok2xx = Object.entries(statusCounts)
    .filter(([code]) => code.startsWith('2'))
    .reduce((n, [, c]) => n + c, 0);
  return {
    connections: spec.connections,
    durationS,
    responses,
    ok2xx,
    non2xx: responses - ok2xx,
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    okPerSecond: ok2xx / durationS,
    latencyMs: {
      mean: histogram.mean,
      p50: histogram.percentile(50),
      p90: histogram.percentile(90),
      p99: histogram.percentile(99),
      p999: histogram.percentile(99.9),
      max: histogram.max,
    },
    autocannonP99: result.latency.p99,
  };
}
