import { verifySignature } from '../recording-callback';
import type { HostConfig } from './host-config';
import { startupBanner } from './startup-banner';

const KEY = 'Kx7Qm2Lp9Vt4Rz8Wb3Nc6Hd1Fg5Js0Ya';
const base: HostConfig = {
  port: 3000,
  sqlitePath: 'data/recordings.sqlite',
  poolSize: 10,
  algorithm: 'HMACSHA256',
  keys: [KEY],
  devKey: false,
  toleranceSeconds: 300,
};
const NOW = 1_800_000_000_000;

describe('startupBanner', () => {
  it('with the development key, prints a curl body whose signature verifies for an hour', () => {
    const text = startupBanner({ ...base, devKey: true }, 'http://127.0.0.1:3000', NOW);
    const lines = text.split('\n');
    const curl = lines[lines.indexOf('Try it:') + 1];
    const post = "  curl -s -X POST http://127.0.0.1:3000/recording-callbacks -H 'Content-Type: application/json' -d '";
    expect({ start: curl.slice(0, post.length), end: curl.slice(-1) }).toEqual({ start: post, end: "'" });
    const body = JSON.parse(curl.slice(post.length, -1));
    expect(body).toEqual({
      project_id: 'example-project',
      task_id: 'example-task-1800000000',
      event_type: 'RECORD_START',
      publish_domain: 'push.example.com',
      app: 'live',
      stream: 'mystream',
      record_format: 'HLS',
      auth_timestamp: NOW / 1000 + 3600,
      auth_sign: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(verifySignature('HMACSHA256', body, body.auth_sign, [KEY])).toBe(true);
    expect(lines[lines.indexOf('Try it:') + 2]).toBe(
      '  curl -s http://127.0.0.1:3000/recording-tasks/example-task-1800000000',
    );
    expect(text).toContain(KEY); // the development key is shown on purpose, so it can go into the console
  });

  it.each(['HMACSHA256', 'MD5'] as const)('with configured %s keys, prints neither key nor signature', (algorithm) => {
    const text = startupBanner({ ...base, algorithm }, 'http://127.0.0.1:3000', NOW);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('auth_sign');
    expect(text).not.toMatch(/[0-9a-f]{32}/);
    expect(text).toContain('npm run -s simulate -- sign');
  });

  it('names the bearer header when the query token is set', () => {
    expect(startupBanner({ ...base, queryToken: 't' }, 'http://h', NOW)).toContain(
      'Authorization: Bearer $RECORDING_QUERY_TOKEN',
    );
  });
});

describe('startupBanner: replay and docs', () => {
  it('says replay is off until RECORDING_QUERY_TOKEN is set, and on with it', () => {
    expect(startupBanner(base, 'http://h', NOW)).toContain(
      'Delivery replay:     off (403) until RECORDING_QUERY_TOKEN is set',
    );
    expect(startupBanner({ ...base, queryToken: 't' }, 'http://h', NOW)).toContain('Delivery replay:     on');
  });

  it('says when the API docs are off', () => {
    expect(startupBanner({ ...base, apiDocs: false }, 'http://h', NOW)).toContain('API docs:            off');
    expect(startupBanner(base, 'http://h', NOW)).toContain('http://h/docs');
  });
});
