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
});
