import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHostConfig } from './host-config';

const KEY = 'Kx7Qm2Lp9Vt4Rz8Wb3Nc6Hd1Fg5Js0Ya';

describe('loadHostConfig: metrics and health settings', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'rc-host-config-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (env: Record<string, string>) =>
    loadHostConfig({ RECORDING_CALLBACK_KEYS: KEY, SQLITE_PATH: join(dir, 'db.sqlite'), ...env });

  it('turns metrics on by default and off with RECORDING_METRICS=off', () => {
    expect(load({}).metrics).toBe(true);
    expect(load({ RECORDING_METRICS: 'off' }).metrics).toBe(false);
    expect(load({ RECORDING_METRICS: 'FALSE' }).metrics).toBe(false);
    expect(load({ RECORDING_METRICS: 'on' }).metrics).toBe(true);
    expect(() => load({ RECORDING_METRICS: 'maybe' })).toThrow('RECORDING_METRICS must be on or off, got "maybe"');
  });

  it('keeps named prepared statements off by default, on with DATABASE_PREPARED_STATEMENTS=on', () => {
    expect(load({}).preparedStatements).toBe(false);
    expect(load({ DATABASE_PREPARED_STATEMENTS: 'on' }).preparedStatements).toBe(true);
    expect(() => load({ DATABASE_PREPARED_STATEMENTS: 'sometimes' })).toThrow(
      'DATABASE_PREPARED_STATEMENTS must be on or off',
    );
  });

  it('reads the health thresholds, leaving unset ones to the library defaults', () => {
    expect(load({}).health).toEqual({ maxBacklog: undefined, maxDeadLetters: undefined, maxSilenceSeconds: undefined });
    expect(
      load({
        RECORDING_HEALTH_MAX_BACKLOG: '5000',
        RECORDING_HEALTH_MAX_DEAD_LETTERS: '0',
        RECORDING_HEALTH_MAX_SILENCE_SECONDS: '3600',
      }).health,
    ).toEqual({ maxBacklog: 5000, maxDeadLetters: 0, maxSilenceSeconds: 3600 });
    expect(() => load({ RECORDING_HEALTH_MAX_BACKLOG: '-1' })).toThrow(
      /RECORDING_HEALTH_MAX_BACKLOG must be a whole number/,
    );
    expect(() => load({ RECORDING_HEALTH_MAX_SILENCE_SECONDS: '0' })).toThrow(/RECORDING_HEALTH_MAX_SILENCE_SECONDS/);
  });

  it('reads the HTTP timeouts, the future bound, the docs switch and the log format, with defaults', () => {
    const defaults = load({});
    expect(defaults.http).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
    expect([defaults.maxFutureSeconds, defaults.apiDocs, defaults.logFormat]).toEqual([86_400, true, 'json']);
    const set = load({
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '4000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
      RECORDING_CALLBACK_MAX_FUTURE_SECONDS: '600',
      RECORDING_API_DOCS: 'off',
      LOG_FORMAT: 'text',
    });
    expect(set.http).toEqual({ headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 65_000 });
    expect([set.maxFutureSeconds, set.apiDocs, set.logFormat]).toEqual([600, false, 'text']);
  });

  it('refuses timeouts Node would refuse, and unknown log formats, naming the variable', () => {
    expect(() => load({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      'HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS',
    );
    expect(() => load({ HTTP_REQUEST_TIMEOUT_MS: '0' })).toThrow('HTTP_REQUEST_TIMEOUT_MS must be a whole number >= 1');
    expect(() => load({ LOG_FORMAT: 'xml' })).toThrow('LOG_FORMAT must be json or text');
  });

  describe('reconciliation', () => {
    const account = { HUAWEI_CLOUD_AK: 'AK1', HUAWEI_CLOUD_SK: 'SK1', HUAWEI_CLOUD_PROJECT_ID: 'p1' };

    it('is off without credentials, and on with AK, SK and project id (no periodic runs unless asked)', () => {
      expect(load({}).reconcile).toBeUndefined();
      expect(load({ ...account, HUAWEI_CLOUD_REGION: 'cn-north-4' }).reconcile).toEqual({
        credentials: { ak: 'AK1', sk: 'SK1' },
        projectId: 'p1',
        region: 'cn-north-4',
        intervalSeconds: 0,
        windowSeconds: 21_600,
        checkAtStartup: false,
      });
    });

    it('lets HUAWEI_LIVE_ENDPOINT win over the region, and reads interval, window, domains, URL and the start-up check', () => {
      const r = load({
        ...account,
        HUAWEI_CLOUD_REGION: 'cn-north-4',
        HUAWEI_LIVE_ENDPOINT: 'http://127.0.0.1:9000',
        RECORDING_RECONCILE_INTERVAL_SECONDS: '600',
        RECORDING_RECONCILE_WINDOW_SECONDS: '3600',
        RECORDING_RECONCILE_DOMAINS: 'push.a.com, push.b.com',
        RECORDING_PUBLIC_CALLBACK_URL: 'https://app.example.com/recording-callbacks',
        RECORDING_DOCTOR_AT_STARTUP: 'on',
        RECORDING_HEALTH_MAX_RECONCILE_AGE_SECONDS: '1800',
      });
      expect(r.reconcile).toMatchObject({
        endpoint: 'http://127.0.0.1:9000',
        intervalSeconds: 600,
        windowSeconds: 3600,
        domains: ['push.a.com', 'push.b.com'],
        callbackUrl: 'https://app.example.com/recording-callbacks',
        checkAtStartup: true,
      });
      expect(r.reconcile).not.toHaveProperty('region');
      expect(r.health?.maxReconcileAgeSeconds).toBe(1800);
    });

    it('names what is missing from a partial set, and refuses bad numbers', () => {
      expect(() => load({ HUAWEI_CLOUD_AK: 'AK1' })).toThrow(
        'reconciliation needs HUAWEI_CLOUD_SK and HUAWEI_CLOUD_PROJECT_ID too',
      );
      expect(() => load(account)).toThrow('reconciliation needs HUAWEI_CLOUD_REGION or HUAWEI_LIVE_ENDPOINT');
      expect(() => load({ ...account, HUAWEI_CLOUD_REGION: 'r', RECORDING_RECONCILE_WINDOW_SECONDS: '10' })).toThrow(
        /RECORDING_RECONCILE_WINDOW_SECONDS must be a whole number >= 60/,
      );
    });
  });
});
