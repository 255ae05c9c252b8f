// The real host app (src/main.ts) as a process, with reconciliation switched on by its environment
// against the fake Huawei Live API: the env contract, the guarded route, /health and /metrics.
import { KEY_A, eventBody, eventually, sign } from './support/callbacks';
import { spawnHost } from './support/child-host';
import type { ChildHost } from './support/child-host';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { FakeHuaweiLive } from './support/fake-huawei-live';
import { LIVE_ACCOUNT, listedFile } from './support/reconcile-app';
import { transpileForNode } from './support/transpile-for-node';
import type { NodeBuild } from './support/transpile-for-node';

const HOST = 'src/main.ts';
const TOKEN = 'ops-token-for-reconcile';

let build: NodeBuild;
beforeAll(() => {
  build = transpileForNode([]);
});
afterAll(() => build?.remove());

describe('host app process: reconciliation from the environment', () => {
  let db: TestDatabase;
  let live: FakeHuaweiLive;
  let host: ChildHost | undefined;
  const base = Date.now() - 2 * 3600_000;

  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
    live = await FakeHuaweiLive.start(LIVE_ACCOUNT);
  });
  afterEach(async () => {
    await host?.kill('SIGTERM');
    host = undefined;
    await live.close();
    await db.drop();
  });

  const env = (extra: Record<string, string> = {}) => ({
    SQLITE_PATH: db.sqlitePath,
    PORT: '0',
    RECORDING_CALLBACK_KEYS: KEY_A,
    RECORDING_QUERY_TOKEN: TOKEN,
    HUAWEI_CLOUD_AK: LIVE_ACCOUNT.ak,
    HUAWEI_CLOUD_SK: LIVE_ACCOUNT.sk,
    HUAWEI_CLOUD_PROJECT_ID: LIVE_ACCOUNT.projectId,
    HUAWEI_CLOUD_REGION: 'cn-north-4',
    HUAWEI_LIVE_ENDPOINT: live.url,
    ...extra,
  });
  const reconcile = (body: object, token?: string) =>
    fetch(`${host!.url}/recording-callbacks/reconcile`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('runs a window on POST /recording-callbacks/reconcile with the token, and reports it in /health and /metrics', async () => {
    host = await spawnHost('host', build.js(HOST), env());
    expect(host.stdout()).toContain(`Reconciliation:      on (${live.url}, on demand only)`);
    expect(host.output()).not.toContain(LIVE_ACCOUNT.sk);
    live.contents = [0, 10].map((m) => listedFile('h1', m, base));

    expect((await reconcile({})).status).toBe(401);
    expect(live.requests).toHaveLength(0);
    const res = await reconcile({ sinceSeconds: 4 * 3600 }, TOKEN);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ listed: 2, matched: 0, recovered: 2, stalled: 0, errors: [] });
    // HUAWEI_LIVE_ENDPOINT won over the region: the fake got the (signed, accepted) requests.
    expect(live.contentRequests().map((r) => r.status)).toEqual([200]);

    const health = (await (await fetch(`${host.url}/health`)).json()) as {
      details: { recording_reconcile: { status: string; lastSuccessAt: string; recovered: number } };
    };
    expect(health.details.recording_reconcile).toMatchObject({ status: 'up', recovered: 2 });
    expect(Date.parse(health.details.recording_reconcile.lastSuccessAt)).toBeGreaterThan(Date.now() - 60_000);
    const metrics = await (
      await fetch(`${host.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/^recording_reconcile_runs_total\{outcome="succeeded"\} 1$/m);
    expect(metrics).toMatch(/^recording_reconcile_files_total\{result="recovered"\} 2$/m);
    expect(metrics).toMatch(/^recording_reconcile_last_success_timestamp_seconds \d{10}/m);
  });

  it('is 404 without credentials, and periodic runs start by themselves with RECORDING_RECONCILE_INTERVAL_SECONDS', async () => {
    host = await spawnHost('host', build.js(HOST), {
      SQLITE_PATH: db.sqlitePath,
      PORT: '0',
      RECORDING_CALLBACK_KEYS: KEY_A,
      RECORDING_QUERY_TOKEN: TOKEN,
    });
    expect(host.stdout()).toContain('Reconciliation:      off');
    expect((await reconcile({}, TOKEN)).status).toBe(404);
    await host.kill('SIGTERM');

    live.contents = [listedFile('h2', 0, base)];
    host = await spawnHost('host', build.js(HOST), env({ RECORDING_RECONCILE_INTERVAL_SECONDS: '1' }));
    // No request from the test: the interval runs the window and the file is stored. /health shows only
    // the last run, and with runs a second apart a later one (which finds the file already stored and
    // recovers 0) may be the first the test sees: count recovered files over all runs, from /metrics.
    const metrics = async () =>
      (await fetch(`${host!.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
    const recoveredSoFar = async () =>
      Number(/^recording_reconcile_files_total\{result="recovered"\} (\d+)$/m.exec(await metrics())?.[1] ?? 0);
    await eventually(async () => (await recoveredSoFar()) > 0, 20_000);
    // Once stored, the file is matched by every later run, never recovered again.
    await eventually(
      async () => /^recording_reconcile_runs_total\{outcome="succeeded"\} [2-9]/m.test(await metrics()),
      20_000,
    );
    expect(await recoveredSoFar()).toBe(1);
    // A callback for the recovered file now reaches the app as usual.
    const f = listedFile('h2', 0, base);
    const answer = await fetch(`${host.url}/recording-callbacks`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(
        sign(
          eventBody('h2-task', 'RECORD_FILE_COMPLETE', 'j1', 'HLS', {
            stream: 'h2',
            download_url: f.download_url,
            start_time: f.start_time,
            end_time: f.end_time,
          }),
        ),
      ),
    });
    expect(answer.status).toBe(200);
  });
});
