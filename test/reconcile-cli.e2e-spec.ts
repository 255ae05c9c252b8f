// npm run reconcile / npm run doctor as child processes on the app's database, against the fake Live API,
// and the simulator's "lose a share of callbacks" mode feeding the fake's listing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { RecordContentItem } from '../src/recording-callback';
import { KEY_A, eventually } from './support/callbacks';
import { CapturingLogger } from './support/capturing-logger';
import { databaseEnv } from './support/child-host';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { FakeHuaweiLive } from './support/fake-huawei-live';
import { closeApp } from './support/start-app';
import { LIVE_ACCOUNT, RecoveryProbe, countRows, startReconcileApp } from './support/reconcile-app';
import { buildSimulator, runSimulator } from './support/simulator-cli';
import type { SimulatorBuild } from './support/simulator-cli';
import { REPO_ROOT, transpileForNode } from './support/transpile-for-node';
import type { NodeBuild } from './support/transpile-for-node';

const RECONCILE = 'scripts/reconcile.ts';
const DOCTOR = 'scripts/doctor.ts';

let build: NodeBuild;
let sim: SimulatorBuild;
beforeAll(() => {
  build = transpileForNode([RECONCILE, DOCTOR, 'scripts/reconcile-context.ts', 'scripts/library-context.ts']);
  sim = buildSimulator();
});
afterAll(() => {
  build?.remove();
  sim?.remove();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [build.js(script), ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('reconcile and doctor commands against the fake Live API', () => {
  let db: TestDatabase;
  let live: FakeHuaweiLive;
  let app: NestExpressApplication | undefined;
  let dir: string;

  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
    live = await FakeHuaweiLive.start(LIVE_ACCOUNT);
    dir = mkdtempSync(join(tmpdir(), 'rc-reconcile-cli-'));
  });
  afterEach(async () => {
    await closeApp(app);
    app = undefined;
    await live.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    ...databaseEnv(db),
    RECORDING_CALLBACK_KEYS: KEY_A,
    HUAWEI_CLOUD_AK: LIVE_ACCOUNT.ak,
    HUAWEI_CLOUD_SK: LIVE_ACCOUNT.sk,
    HUAWEI_CLOUD_PROJECT_ID: LIVE_ACCOUNT.projectId,
    HUAWEI_LIVE_ENDPOINT: live.url,
    ...extra,
  });

  it('the simulator loses a share of RECORD_FILE_COMPLETE; reconcile --dry-run lists them, reconcile recovers them, the app delivers each once', async () => {
    app = await startReconcileApp(db, live);
    await app.listen(0, '127.0.0.1');
    const listing = join(dir, 'listing.json');
    // The fake serves what the simulator wrote, as `npm run fake-huawei-live -- --contents FILE` does.
    live.beforeAnswer = () => {
      live.contents = JSON.parse(readFileSync(listing, 'utf8')) as RecordContentItem[];
    };
    const sent = await runSimulator(
      sim,
      [
        '--url',
        `${await app.getUrl()}/recording-callbacks`,
        '--count',
        '6',
        '--files',
        '2',
        '--formats',
        'HLS',
        '--fail-rate',
        '0',
        '--lose-rate',
        '0.5',
        '--seed',
        '7',
        '--listing',
        listing,
        '--json',
      ],
      { RECORDING_CALLBACK_KEY: KEY_A },
    );
    expect(sent.code).toBe(0);
    const summary = JSON.parse(sent.stdout) as { fileCompletesLost: number };
    const listed = JSON.parse(readFileSync(listing, 'utf8')) as RecordContentItem[];
    expect(listed).toHaveLength(12);
    expect(summary.fileCompletesLost).toBeGreaterThan(0);
    expect(summary.fileCompletesLost).toBeLessThan(12);

    const dry = await cli(RECONCILE, ['--since', '2h', '--dry-run'], env());
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^would recover +${summary.fileCompletesLost}$`, 'm'));
    expect(dry.stdout).toMatch(/^listed +12$/m);
    expect(dry.stdout.split('\n').filter((l) => l.includes('https://obs.'))).toHaveLength(summary.fileCompletesLost);
    expect(await countRows(app, `SELECT COUNT(*) AS n FROM recording_files WHERE source = 'reconciled'`)).toBe(0);

    const real = await cli(RECONCILE, ['--since', '2h', '--json'], env());
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({
      listed: 12,
      matched: 12 - summary.fileCompletesLost,
      recovered: summary.fileCompletesLost,
      errors: [],
      dryRun: false,
    });
    // The command stored the deliveries; the running app's poller hands them to its handlers.
    const probe = app.get(RecoveryProbe);
    await eventually(() => probe.recovered.length >= summary.fileCompletesLost, 15_000);
    expect(new Set(probe.recovered.map((e) => e.recoveryKey)).size).toBe(summary.fileCompletesLost);
  });

  it('reconcile refuses bad arguments and a missing configuration (exit 2)', async () => {
    const bad = await cli(RECONCILE, ['--since', '10y'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be a duration from 60s to 30d');
    const off = await cli(RECONCILE, [], { ...databaseEnv(db), RECORDING_CALLBACK_KEYS: KEY_A });
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('reconciliation is not configured');
  });

  it('doctor reports each misconfiguration with its fix, and exits 1', async () => {
    app = await startReconcileApp(db, live); // runs the migrations on the database
    await closeApp(app);
    app = undefined;
    await live.close();
    live = await FakeHuaweiLive.start({ ...LIVE_ACCOUNT, clockSkewMs: 120_000 });
    live.callbackConfigs = [
      {
        id: 'c1',
        publish_domain: 'push.example.com',
        app: '*',
        notify_callback_url: 'http://old.example.com/hooks',
        notify_event_subscription: ['RECORD_FILE_COMPLETE'],
        sign_type: 'MD5',
      },
    ];
    const run = await cli(DOCTOR, ['--listen', 'RECORD_FILE_COMPLETE,RECORD_OVER', '--json'], {
      ...env(),
      HUAWEI_LIVE_ENDPOINT: live.url,
      RECORDING_RECONCILE_DOMAINS: 'push.example.com,push.missing.com',
      RECORDING_PUBLIC_CALLBACK_URL: 'https://app.example.com/recording-callbacks',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { findings: Array<{ code: string; domain?: string; fix: string }> };
    expect(report.findings.map((f) => `${f.code}${f.domain ? `@${f.domain}` : ''}`).sort()).toEqual(
      [
        'callback_url_mismatch@push.example.com',
        'clock_offset',
        'event_not_subscribed@push.example.com',
        'md5_in_use@push.example.com',
        'no_configuration@push.missing.com',
        'sign_type_mismatch@push.example.com',
      ].sort(),
    );
    expect(report.findings.every((f) => f.fix.length > 0)).toBe(true);

    // The same Huawei side fixed: nothing left (but the clock), exit 0.
    live.callbackConfigs = [
      { ...live.callbackConfigs[0], notify_callback_url: 'https://app.example.com/recording-callbacks' },
    ];
    live.callbackConfigs[0].sign_type = 'HMACSHA256';
    live.callbackConfigs[0].notify_event_subscription = ['RECORD_FILE_COMPLETE', 'RECORD_OVER'];
    const fixed = await cli(DOCTOR, ['--listen', 'RECORD_FILE_COMPLETE,RECORD_OVER'], {
      ...env(),
      HUAWEI_LIVE_ENDPOINT: live.url,
      RECORDING_PUBLIC_CALLBACK_URL: 'https://app.example.com/recording-callbacks',
    });
    expect(fixed.stdout).toContain('WARNING clock_offset');
    expect(fixed.stdout).toContain('fix: synchronise the clock');
    expect(fixed.code).toBe(0);
  });

  it('with checkAtStartup the app runs the check once at start-up and logs each finding with its fix', async () => {
    live.callbackConfigs = [
      { publish_domain: 'push.example.com', app: '*', notify_callback_url: 'https://a/cb', sign_type: 'MD5' },
    ];
    const logger = new CapturingLogger();
    app = await startReconcileApp(db, live, { checkAtStartup: true, callbackUrl: 'https://a/cb' }, {}, logger);
    await eventually(() => logger.text('error').includes('sign_type_mismatch'), 10_000);
    expect(logger.text('warn')).toContain('md5_in_use');
    expect(logger.text('error', 'warn')).toContain('switch push.example.com to HMACSHA256');
    expect(logger.text('error', 'warn')).not.toContain('callback_url_mismatch');
    expect(live.requests.filter((r) => r.endpoint === 'callbacks')).toHaveLength(1);
  });
});
