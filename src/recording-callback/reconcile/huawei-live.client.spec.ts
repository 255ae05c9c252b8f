import { FakeHuaweiLive } from '../../../test/support/fake-huawei-live';
import type { RecordContentItem } from '../protocol/live-api';
import { HuaweiLiveApiError, HuaweiLiveClient } from './huawei-live.client';
import type { HuaweiLiveClientSettings } from './huawei-live.client';

const ACCOUNT = { ak: 'FAKEAK0123456789ABCD', sk: 'fakeSecretKey0123456789abcdefghijklmnop', projectId: 'proj-0001' };

function item(n: number, domain = 'push.example.com'): RecordContentItem {
  const start = new Date(Date.UTC(2026, 11, 5, 10, 0, 0) + n * 60_000);
  return {
    publish_domain: domain,
    app: 'live',
    stream: `s${n % 3}`,
    record_format: 'HLS',
    download_url: `https://bucket.obs.example.com/record/${n}.m3u8`,
    start_time: start.toISOString().replace('.000Z', 'Z'),
    end_time: new Date(start.getTime() + 30_000).toISOString().replace('.000Z', 'Z'),
    duration: 30,
  };
}

describe('HuaweiLiveClient against the fake Live API (real HTTP, real SDK signing)', () => {
  let live: FakeHuaweiLive;
  const sleeps: number[] = [];
  const client = (s: Partial<HuaweiLiveClientSettings> = {}) =>
    new HuaweiLiveClient({
      ...ACCOUNT,
      endpoint: live.url,
      sleep: async (ms) => void sleeps.push(ms),
      ...s,
    });
  const all = async (c: HuaweiLiveClient, q = { start_time: '2026-12-05T00:00:00Z' }) => {
    const items: RecordContentItem[] = [];
    for await (const page of c.recordContents(q)) items.push(...page);
    return items;
  };

  beforeEach(async () => {
    live = await FakeHuaweiLive.start(ACCOUNT);
    sleeps.length = 0;
  });
  afterEach(() => live.close());

  it('pages through the whole listing with page-number offsets, every request signed with the AK/SK', async () => {
    live.contents = Array.from({ length: 250 }, (_, n) => item(n));
    const items = await all(client());
    expect(items.map((i) => i.download_url)).toEqual(live.contents.map((i) => i.download_url));
    expect(live.contentRequests().map((r) => [r.query.offset, r.query.limit, r.status])).toEqual([
      ['0', '100', 200],
      ['1', '100', 200],
      ['2', '100', 200],
    ]);
  });

  it('passes the filters and the window to Huawei', async () => {
    live.contents = [item(1), item(2, 'push.other.com')];
    const items = await all(client(), {
      start_time: '2026-12-05T00:00:00Z',
      end_time: '2026-12-06T00:00:00Z',
      publish_domain: 'push.other.com',
    } as never);
    expect(items.map((i) => i.publish_domain)).toEqual(['push.other.com']);
    expect(live.contentRequests()[0].query).toMatchObject({
      publish_domain: 'push.other.com',
      start_time: '2026-12-05T00:00:00Z',
      end_time: '2026-12-06T00:00:00Z',
    });
  });

  it('is refused with a wrong secret key, and does not retry a 401', async () => {
    live.contents = [item(1)];
    const error = await all(client({ sk: 'notTheSecretKey0123456789abcdefghijklmn' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiLiveApiError);
    expect((error as HuaweiLiveApiError).status).toBe(401);
    expect((error as HuaweiLiveApiError).errorCode).toBe('APIGW.0301');
    expect(live.requests).toHaveLength(1);
  });

  it('retries 5xx and 429 with growing backoff, then continues paging', async () => {
    live.contents = Array.from({ length: 150 }, (_, n) => item(n));
    live.faults.push({ endpoint: 'contents', page: 1, status: 503 }, { endpoint: 'contents', page: 1, status: 429 });
    const items = await all(client({ baseDelayMs: 100 }));
    expect(items).toHaveLength(150);
    expect(live.contentRequests().map((r) => [r.query.offset, r.status])).toEqual([
      ['0', 200],
      ['1', 503],
      ['1', 429],
      ['1', 200],
    ]);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
  });

  it('gives up after its attempts on a persistent 5xx', async () => {
    live.contents = [item(1)];
    live.faults.push({ endpoint: 'contents', status: 500, times: 10 });
    const error = await all(client({ attempts: 3 })).catch((e: unknown) => e);
    expect((error as HuaweiLiveApiError).status).toBe(500);
    expect((error as HuaweiLiveApiError).retryable).toBe(true);
    expect(live.contentRequests()).toHaveLength(3);
  });

  it('abandons an answer slower than the request timeout', async () => {
    live.contents = [item(1)];
    live.faults.push({ endpoint: 'contents', delayMs: 3000 });
    const error = await all(client({ attempts: 1, timeoutMs: 200 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiLiveApiError);
    expect((error as HuaweiLiveApiError).status).toBeNull();
  });

  it("reads the callback configurations and keeps Huawei's Date header for the clock check", async () => {
    await live.close();
    live = await FakeHuaweiLive.start({ ...ACCOUNT, clockSkewMs: 120_000 });
    live.callbackConfigs = [
      { id: 'c1', publish_domain: 'push.example.com', app: '*', notify_callback_url: 'https://a/cb', sign_type: 'MD5' },
    ];
    const c = client();
    const configs = await c.callbackConfigs();
    expect(configs).toEqual(live.callbackConfigs);
    expect(c.lastServerDate!.getTime() - Date.now()).toBeGreaterThan(100_000);
  });
});
