import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { computeSignature } from '../src/recording-callback';
import type { RecordingCallbackModuleOptions, SignatureAlgorithm } from '../src/recording-callback';
import { CapturingLogger } from './support/capturing-logger';
import { KEY_A, KEY_B, eventBody, sign, startBody } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { KEY_C, KEY_D, TASKS_PATH, postCallback } from './support/e2e-helpers';
import { WIRINGS, closeApp, startApp } from './support/start-app';

type Body = Record<string, unknown>;

const HMAC_DOMAIN = 'hmac.example.com';
const MD5_DOMAIN = 'md5.example.com';
const ALL_KEYS = [KEY_A, KEY_B, KEY_C, KEY_D];

interface SignatureVector {
  name: string;
  algorithm: SignatureAlgorithm;
  key: string;
  body: Body & { auth_timestamp: number; task_id: string };
  auth_sign: string;
}

/** Huawei signature vectors (computed independently of the module's own signing code). */
const VECTORS: SignatureVector[] = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/huawei-live-recording-signatures.json'), 'utf8'),
).vectors;

/** A fixed auth_timestamp, so the clock option decides what is expired. */
const T = 1_770_000_000;

/** Checks a 401: the reason, and that no key or expected signature leaks into the answer. */
function expectRefused(res: request.Response, reason: string, body?: Body): void {
  expect({ status: res.status, reason: res.body?.reason }).toEqual({ status: 401, reason });
  for (const key of ALL_KEYS) expect(res.text).not.toContain(key);
  if (body && body.auth_timestamp !== undefined) {
    for (const algorithm of ['HMACSHA256', 'MD5'] as SignatureAlgorithm[]) {
      for (const key of ALL_KEYS) {
        expect(res.text).not.toContain(computeSignature(algorithm, body as never, key));
      }
    }
  }
}

describe.each(DATABASE_KINDS)('callback signatures (%s)', (kind) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await db.drop();
  });

  describe.each(WIRINGS)('module via %s', (wiring) => {
    const id = (name: string) => `${wiring}-${name}`;
    let clockMs = T * 1000;

    describe('keys per publish_domain, no fallback', () => {
      let app: NestExpressApplication;
      const options: RecordingCallbackModuleOptions = {
        auth: {
          domains: {
            [HMAC_DOMAIN]: { algorithm: 'HMACSHA256', keys: [KEY_A, KEY_B] },
            [MD5_DOMAIN]: { algorithm: 'MD5', keys: [KEY_C] },
          },
        },
        toleranceSeconds: 300,
        now: () => clockMs,
      };
      const hmacBody = (name: string, over: Body = {}) => startBody(id(name), { publish_domain: HMAC_DOMAIN, ...over });
      const md5Body = (name: string, over: Body = {}) => startBody(id(name), { publish_domain: MD5_DOMAIN, ...over });

      beforeAll(async () => {
        app = await startApp(db, { module: options, wiring });
      });
      afterAll(async () => {
        await closeApp(app);
      });
      beforeEach(() => {
        clockMs = T * 1000;
      });

      it('accepts the current key and the previous key of a domain (rotation)', async () => {
        const a = await postCallback(app, sign(hmacBody('rot-a'), { key: KEY_A, timestamp: T })).expect(200);
        expect(a.body).toMatchObject({ result: 'accepted' });
        const b = await postCallback(app, sign(hmacBody('rot-b'), { key: KEY_B, timestamp: T })).expect(200);
        expect(b.body).toMatchObject({ result: 'accepted' });
        await request(app.getHttpServer())
          .get(`${TASKS_PATH}/${id('rot-b')}`)
          .expect(200);
      });

      it('accepts auth_sign in upper-case hex', async () => {
        const body = sign(hmacBody('upper'), { timestamp: T });
        const res = await postCallback(app, { ...body, auth_sign: String(body.auth_sign).toUpperCase() });
        expect(res.status).toBe(200);
      });

      it('accepts auth_timestamp sent as a decimal string', async () => {
        const body = sign(hmacBody('ts-string'), { timestamp: T });
        const res = await postCallback(app, { ...body, auth_timestamp: String(T) });
        expect(res.status).toBe(200);
      });

      it('refuses a key of another domain or no key at all with bad_signature', async () => {
        const withC = sign(hmacBody('wrong-key'), { key: KEY_C, timestamp: T });
        expectRefused(await postCallback(app, withC), 'bad_signature', withC);
        const random = { ...sign(hmacBody('random-sign'), { timestamp: T }), auth_sign: 'ab'.repeat(32) };
        expectRefused(await postCallback(app, random), 'bad_signature', random);
        await request(app.getHttpServer())
          .get(`${TASKS_PATH}/${id('wrong-key')}`)
          .expect(404);
      });

      it('refuses a body changed after signing (signed field stream, download_url)', async () => {
        const signed = sign(hmacBody('tampered'), { timestamp: T });
        const tampered = { ...signed, stream: 'someone-else' };
        expectRefused(await postCallback(app, tampered), 'bad_signature', tampered);

        const file = sign(
          eventBody(id('tampered-url'), 'RECORD_FILE_COMPLETE', 'job-1', 'HLS', { publish_domain: HMAC_DOMAIN }),
          {
            timestamp: T,
          },
        );
        const evilUrl = { ...file, download_url: 'https://evil.example.com/x.m3u8' };
        expectRefused(await postCallback(app, evilUrl), 'bad_signature', evilUrl);
        // A signed timestamp cannot be moved either.
        const moved = { ...signed, auth_timestamp: T + 100 };
        expectRefused(await postCallback(app, moved), 'bad_signature', moved);
      });

      it('refuses missing or empty auth_sign / auth_timestamp with missing_signature', async () => {
        const { auth_sign: _s, ...noSign } = sign(hmacBody('no-sign'), { timestamp: T });
        expectRefused(await postCallback(app, noSign), 'missing_signature');
        const { auth_timestamp: _t, ...noTimestamp } = sign(hmacBody('no-ts'), { timestamp: T });
        expectRefused(await postCallback(app, noTimestamp), 'missing_signature');
        const empty = { ...sign(hmacBody('empty-sign'), { timestamp: T }), auth_sign: '' };
        expectRefused(await postCallback(app, empty), 'missing_signature');
        expectRefused(await postCallback(app, hmacBody('unsigned')), 'missing_signature');
      });

      it('uses MD5 for the MD5 domain: MD5 with its key accepted, HMAC or another key refused', async () => {
        const md5 = await postCallback(app, sign(md5Body('md5-ok'), { algorithm: 'MD5', key: KEY_C, timestamp: T }));
        expect(md5.status).toBe(200);
        expect(md5.body).toMatchObject({ result: 'accepted' });

        const hmac = sign(md5Body('md5-hmac'), { algorithm: 'HMACSHA256', key: KEY_C, timestamp: T });
        expectRefused(await postCallback(app, hmac), 'bad_signature', hmac);
        const otherKey = sign(md5Body('md5-key-a'), { algorithm: 'MD5', key: KEY_A, timestamp: T });
        expectRefused(await postCallback(app, otherKey), 'bad_signature', otherKey);
        // And MD5 is not accepted on the HMAC domain.
        const md5OnHmac = sign(hmacBody('hmac-md5'), { algorithm: 'MD5', key: KEY_A, timestamp: T });
        expectRefused(await postCallback(app, md5OnHmac), 'bad_signature', md5OnHmac);
      });

      it('refuses a publish_domain with no keys as bad_signature, whatever the signature (no domain oracle)', async () => {
        const body = sign(startBody(id('unknown-domain'), { publish_domain: 'other.example.com' }), {
          key: KEY_A,
          timestamp: T,
        });
        expectRefused(await postCallback(app, body), 'bad_signature', body);
        const md5 = sign(startBody(id('unknown-domain-md5'), { publish_domain: 'other.example.com' }), {
          algorithm: 'MD5',
          key: KEY_C,
          timestamp: T,
        });
        expectRefused(await postCallback(app, md5), 'bad_signature', md5);
        await request(app.getHttpServer())
          .get(`${TASKS_PATH}/${id('unknown-domain')}`)
          .expect(404);
      });

      it('accepts up to auth_timestamp + tolerance inclusive and refuses one second later with expired', async () => {
        clockMs = (T + 300) * 1000;
        const edge = await postCallback(app, sign(hmacBody('edge'), { timestamp: T }));
        expect(edge.status).toBe(200);

        clockMs = (T + 301) * 1000;
        const late = sign(hmacBody('edge-late'), { timestamp: T });
        expectRefused(await postCallback(app, late), 'expired', late);
        await request(app.getHttpServer())
          .get(`${TASKS_PATH}/${id('edge-late')}`)
          .expect(404);
      });

      it('refuses an old timestamp on the MD5 domain with expired', async () => {
        clockMs = (T + 3600) * 1000;
        const old = sign(md5Body('md5-old'), { algorithm: 'MD5', key: KEY_C, timestamp: T });
        expectRefused(await postCallback(app, old), 'expired', old);
      });

      it('accepts an auth_timestamp in the future (it is documented as the expiry time)', async () => {
        const res = await postCallback(app, sign(hmacBody('future'), { timestamp: T + 86400 }));
        expect(res.status).toBe(200);
      });

      it('accepts a RECORD_FILE_COMPLETE signed with download_url and play_url', async () => {
        const body = eventBody(id('file-signed'), 'RECORD_FILE_COMPLETE', 'job-1', 'HLS', {
          publish_domain: HMAC_DOMAIN,
          play_url: 'https://play.example.com/live/x.m3u8',
        });
        const res = await postCallback(app, sign(body, { key: KEY_B, timestamp: T }));
        expect(res.status).toBe(200);
        const withoutPlayUrl = { ...sign(body, { key: KEY_B, timestamp: T }), play_url: 'https://evil.example.com/' };
        expectRefused(await postCallback(app, withoutPlayUrl), 'bad_signature', withoutPlayUrl);
      });
    });

    describe('Huawei signature vectors over HTTP', () => {
      const apps = new Map<SignatureAlgorithm, NestExpressApplication>();

      beforeAll(async () => {
        for (const algorithm of ['HMACSHA256', 'MD5'] as SignatureAlgorithm[]) {
          const keys = [...new Set(VECTORS.filter((v) => v.algorithm === algorithm).map((v) => v.key))];
          apps.set(
            algorithm,
            await startApp(db, { module: { auth: { algorithm, keys }, now: () => clockMs }, wiring }),
          );
        }
      });
      afterAll(async () => {
        for (const app of apps.values()) await closeApp(app);
      });

      it('has vectors of both algorithms', () => {
        expect(VECTORS.filter((v) => v.algorithm === 'HMACSHA256').length).toBeGreaterThan(0);
        expect(VECTORS.filter((v) => v.algorithm === 'MD5').length).toBeGreaterThan(0);
      });

      it.each(VECTORS.map((v, i) => [v.name, v, i] as const))(
        'accepts the vector "%s" as sent',
        async (_name, vector, i) => {
          const app = apps.get(vector.algorithm)!;
          clockMs = vector.body.auth_timestamp * 1000;
          // task_id is signed by neither algorithm, so it can be made unique per test without re-signing
          // (several vectors differ only in auth_timestamp, which would make them duplicates of each other).
          const body = {
            ...vector.body,
            task_id: `${vector.body.task_id}-${wiring}-${i}`,
            auth_sign: vector.auth_sign,
          };
          const res = await postCallback(app, body);
          expect({ status: res.status, result: res.body.result }).toEqual({ status: 200, result: 'accepted' });

          const flipped = vector.auth_sign.slice(0, -1) + (vector.auth_sign.endsWith('0') ? '1' : '0');
          const forged = { ...body, task_id: `${body.task_id}-forged`, auth_sign: flipped };
          expectRefused(await postCallback(app, forged), 'bad_signature', forged);
        },
      );
    });

    describe('keys per domain with a fallback', () => {
      let app: NestExpressApplication;

      beforeAll(async () => {
        app = await startApp(db, {
          module: {
            auth: {
              domains: { [HMAC_DOMAIN]: { algorithm: 'HMACSHA256', keys: [KEY_A] } },
              fallback: { algorithm: 'MD5', keys: [KEY_D] },
            },
            now: () => clockMs,
          },
          wiring,
        });
      });
      afterAll(async () => {
        await closeApp(app);
      });

      it('uses the fallback key set for domains not listed', async () => {
        clockMs = T * 1000;
        const other = startBody(id('fallback-other'), { publish_domain: 'any.example.com' });
        expect((await postCallback(app, sign(other, { algorithm: 'MD5', key: KEY_D, timestamp: T }))).status).toBe(200);
        const wrong = sign({ ...other, task_id: id('fallback-wrong') }, { key: KEY_A, timestamp: T });
        expectRefused(await postCallback(app, wrong), 'bad_signature', wrong);
        // The listed domain keeps its own algorithm and key.
        const listed = startBody(id('fallback-listed'), { publish_domain: HMAC_DOMAIN });
        expect((await postCallback(app, sign(listed, { key: KEY_A, timestamp: T }))).status).toBe(200);
        const fallbackKeyOnListed = sign(
          { ...listed, task_id: id('fallback-listed-2') },
          { algorithm: 'MD5', key: KEY_D, timestamp: T },
        );
        expectRefused(await postCallback(app, fallbackKeyOnListed), 'bad_signature', fallbackKeyOnListed);
      });
    });

    describe('one MD5 key set for every domain', () => {
      let app: NestExpressApplication;
      const logs = new CapturingLogger();

      beforeAll(async () => {
        app = await startApp(db, { module: { auth: { algorithm: 'MD5', keys: [KEY_A] } }, wiring, logger: logs });
      });
      afterAll(async () => {
        await closeApp(app);
      });

      it('accepts MD5 signatures from any domain and refuses HMAC ones', async () => {
        const now = Math.floor(Date.now() / 1000);
        for (const domain of ['a.example.com', 'b.example.com']) {
          const res = await postCallback(
            app,
            sign(startBody(id(`md5-${domain}`), { publish_domain: domain }), { algorithm: 'MD5', timestamp: now }),
          );
          expect(res.status).toBe(200);
        }
        const hmac = sign(startBody(id('md5-hmac-any')), { algorithm: 'HMACSHA256', timestamp: now });
        expectRefused(await postCallback(app, hmac), 'bad_signature', hmac);
      });

      it('refuses an MD5 signature older than the default tolerance of 300 s', async () => {
        const ts = Math.floor(Date.now() / 1000) - 400;
        const old = sign(startBody(id('md5-expired')), { algorithm: 'MD5', timestamp: ts });
        expectRefused(await postCallback(app, old), 'expired', old);
      });

      it('warned about MD5 at start-up', () => {
        expect(logs.text('warn')).toMatch(/MD5/);
      });
    });

    describe("auth 'none'", () => {
      let app: NestExpressApplication;
      const logs = new CapturingLogger();

      beforeAll(async () => {
        app = await startApp(db, { module: { auth: 'none' }, wiring, logger: logs });
      });
      afterAll(async () => {
        await closeApp(app);
      });

      it('accepts unsigned callbacks and still validates them', async () => {
        const res = await postCallback(app, startBody(id('none-1')));
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ result: 'accepted' });
        await request(app.getHttpServer())
          .get(`${TASKS_PATH}/${id('none-1')}`)
          .expect(200);
        const invalid = await postCallback(app, startBody(id('none-2'), { record_format: 'AVI' }));
        expect(invalid.status).toBe(400);
      });

      it('warned at start-up that authentication is off', () => {
        expect(logs.text('warn')).toMatch(/authentication[^\n]*(off|disabled|none)/i);
      });
    });
  });
});

describe.each(DATABASE_KINDS)('host app signature settings (%s)', (kind) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await db.drop();
  });

  // The environment variables themselves are read in test/host-process.e2e-spec.ts (a real process).
  it('accepts every configured key (rotation) and refuses others', async () => {
    const app = await startApp(db, { host: { keys: [KEY_B, KEY_A] } });
    try {
      expect((await postCallback(app, sign(startBody('host-rot-a'), { key: KEY_A }))).status).toBe(200);
      expect((await postCallback(app, sign(startBody('host-rot-b'), { key: KEY_B }))).status).toBe(200);
      const other = sign(startBody('host-rot-c'), { key: KEY_C });
      expectRefused(await postCallback(app, other), 'bad_signature', other);
    } finally {
      await closeApp(app);
    }
  });

  it('uses MD5 when the host config says MD5, with the configured tolerance', async () => {
    const app = await startApp(db, { host: { algorithm: 'MD5', keys: [KEY_C], toleranceSeconds: 60 } });
    try {
      const now = Math.floor(Date.now() / 1000);
      expect(
        (await postCallback(app, sign(startBody('host-md5'), { algorithm: 'MD5', key: KEY_C, timestamp: now }))).status,
      ).toBe(200);
      const hmac = sign(startBody('host-md5-hmac'), { key: KEY_C, timestamp: now });
      expectRefused(await postCallback(app, hmac), 'bad_signature', hmac);
      const old = sign(startBody('host-md5-old'), { algorithm: 'MD5', key: KEY_C, timestamp: now - 120 });
      expectRefused(await postCallback(app, old), 'expired', old);
    } finally {
      await closeApp(app);
    }
  });
});
