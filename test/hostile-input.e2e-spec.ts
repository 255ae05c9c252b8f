import { CanActivate } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { KEY_A, eventBody, sign, startBody } from './support/callbacks';
import { CapturingLogger } from './support/capturing-logger';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { CALLBACK_PATH, KEY_D, TASKS_PATH } from './support/e2e-helpers';
import { closeApp, startApp } from './support/start-app';
import { rawExchange } from './support/raw-http';

/** Characters that must never reach a log line raw: C0 controls (newline, ESC), DEL, C1 (CSI), U+2028/9. */
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const SIGNED_TEXT_FIELDS = ['event_type', 'publish_domain', 'app', 'stream', 'download_url', 'play_url'];
const HOSTILE_VALUES: unknown[] = [{ toString: 1 }, { valueOf: 1, toString: 2 }, [1, 2], {}, true, 7];

async function callbackCount(app: NestExpressApplication): Promise<number> {
  const [row] = await app.get(DataSource).query('SELECT count(*) AS n FROM recording_callbacks');
  return Number(row.n);
}

function listen(app: NestExpressApplication): Promise<number> {
  return app.listen(0, '127.0.0.1').then(() => (app.getHttpServer().address() as { port: number }).port);
}

describe.each(DATABASE_KINDS)('hostile input (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;
  let port: number;
  const logs = new CapturingLogger();
  let startupLog = '';

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startApp(db, { host: {}, logger: logs });
    port = await listen(app);
    startupLog = logs.text();
  });
  afterAll(async () => {
    await closeApp(app);
    await db?.drop();
  });

  const post = (body: unknown) =>
    request(app.getHttpServer())
      .post(CALLBACK_PATH)
      .send(body as object);

  /** Posts, and checks that nothing was stored and nothing was answered 500. */
  async function refused(body: unknown, status: number): Promise<request.Response> {
    const before = await callbackCount(app);
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(await callbackCount(app)).toBe(before);
    return res;
  }

  describe('1. values of the wrong JSON type in the fields the guard reads', () => {
    it.each(SIGNED_TEXT_FIELDS)('%s: 400 naming the field, unsigned and signed alike', async (field) => {
      for (const value of HOSTILE_VALUES) {
        const unsigned = await refused(
          { ...startBody(`type-${field}`), [field]: value, auth_sign: 'x', auth_timestamp: 1 },
          400,
        );
        expect(Object.keys(unsigned.body.fields)).toEqual([field]);
        const signed = await refused({ ...sign(startBody(`type-${field}`)), [field]: value }, 400);
        expect(Object.keys(signed.body.fields)).toEqual([field]);
      }
    });

    it('auth_timestamp or auth_sign of another type: 401 bad_signature', async () => {
      for (const value of HOSTILE_VALUES.filter((v) => typeof v !== 'number')) {
        const body = sign(startBody('type-ts'));
        expect((await refused({ ...body, auth_timestamp: value }, 401)).body.reason).toBe('bad_signature');
        expect((await refused({ ...body, auth_sign: value }, 401)).body.reason).toBe('bad_signature');
      }
    });
  });

  describe('2. deep nesting', () => {
    it('refuses a validly signed callback with an extra field nested 5,000 levels deep with 400', async () => {
      const text = `${'['.repeat(2500)}${'{"a":'.repeat(2500)}1${'}'.repeat(2500)}${']'.repeat(2500)}`;
      const body = JSON.stringify(sign(startBody('deep-1'))).replace(/}$/, `,"extra":${text}}`);
      expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024);
      const before = await callbackCount(app);
      const res = await request(app.getHttpServer())
        .post(CALLBACK_PATH)
        .set('Content-Type', 'application/json')
        .send(body);
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields)).toEqual(['body']);
      expect(await callbackCount(app)).toBe(before);
      await request(app.getHttpServer()).get(`${TASKS_PATH}/deep-1`).expect(404);
    });
  });

  describe('3. oversized bodies', () => {
    it('refuses an announced Content-Length over the limit at once, before the body, and closes', async () => {
      const head =
        'POST /recording-callbacks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n';
      // One byte is sent; a server that waited for the other 9,999,999 would never answer.
      const before = await callbackCount(app);
      const r = await rawExchange(port, head, ['{']);
      expect(await callbackCount(app)).toBe(before);
      expect(r.response).toMatch(/^HTTP\/1\.1 413 /);
      expect(r.response).toMatch(/\r\nconnection: close\r\n/i);
      expect(r.closedByServer).toBe(true);
    });

    it('stops reading a chunked body at the limit: 413, and the connection closed long before 200 MB', async () => {
      const head =
        'POST /recording-callbacks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
      const data = Buffer.concat([Buffer.from('{"p":"'), Buffer.alloc(64 * 1024, 'x')]);
      const chunk = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
      function* body() {
        for (let sent = 0; sent < 200 * 1024 * 1024; sent += chunk.length) yield chunk;
      }
      const before = await callbackCount(app);
      const r = await rawExchange(port, head, body());
      expect(await callbackCount(app)).toBe(before);
      expect(r.closedByServer).toBe(true);
      // Only what fits in the socket buffers passes after the refusal; a draining server reads all 200 MB.
      expect(r.bodyBytesWritten).toBeLessThan(32 * 1024 * 1024);
      expect(r.response).toMatch(/^HTTP\/1\.1 413 /);
    });

    it('applies the documented server timeouts', () => {
      const server = app.getHttpServer();
      expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout, server.timeout]).toEqual([
        10_000, 30_000, 5_000, 30_000,
      ]);
    });

    it('closes the connection of a body it does not read (another content type) instead of draining it', async () => {
      const head =
        'POST /recording-callbacks HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
      const data = Buffer.alloc(64 * 1024, 'a');
      const chunk = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
      function* body() {
        for (let sent = 0; sent < 200 * 1024 * 1024; sent += chunk.length) yield chunk;
      }
      const r = await rawExchange(port, head, body());
      expect(r.response).toMatch(/^HTTP\/1\.1 400 /);
      expect(r.closedByServer).toBe(true);
      expect(r.bodyBytesWritten).toBeLessThan(32 * 1024 * 1024);
    });
  });

  it('refuses a body that is not valid UTF-8 with 400, instead of replacing the broken bytes', async () => {
    const bytes = Buffer.from(JSON.stringify(sign(startBody('utf8-1', { app: 'li@ve' }))));
    bytes[bytes.indexOf('@')] = 0xff; // a byte that is never valid UTF-8
    const before = await callbackCount(app);
    // Raw bytes: supertest would send a Buffer as JSON of its own.
    const head = `POST /recording-callbacks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
    const r = await rawExchange(port, head, [bytes]);
    expect(r.response).toMatch(/^HTTP\/1\.1 400 /);
    expect(r.response).toContain('"message":"body is not valid UTF-8"');
    expect(await callbackCount(app)).toBe(before);
  });

  describe('4. unknown query parameters', () => {
    it('refuses parameters on the routes that take none, loose numbers, and cursors the database would refuse', async () => {
      const get = (path: string) => request(app.getHttpServer()).get(path);
      expect(Object.keys((await get(`${TASKS_PATH}/x?foo=1`).expect(400)).body.fields)).toEqual(['foo']);
      expect(Object.keys((await get(`${TASKS_PATH}/x/transitions?__proto__=1`).expect(400)).body.fields)).toEqual([
        '__proto__',
      ]);
      for (const limit of ['0x10', '1e2', '+5', '%205']) {
        expect(Object.keys((await get(`${TASKS_PATH}?limit=${limit}`).expect(400)).body.fields)).toEqual(['limit']);
      }
      const ancient = Buffer.from(JSON.stringify(['-271821-04-20T00:00:00.000Z', 'x'])).toString('base64url');
      expect(Object.keys((await get(`${TASKS_PATH}?cursor=${ancient}`).expect(400)).body.fields)).toEqual(['cursor']);
    });

    it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
      '?%s=1 is refused with 400',
      async (name) => {
        const tasks = await request(app.getHttpServer()).get(`${TASKS_PATH}?${name}=1`).expect(400);
        expect(Object.keys(tasks.body.fields)).toEqual([name]);
        const deliveries = await request(app.getHttpServer()).get(`${CALLBACK_PATH}/deliveries?${name}=1`).expect(400);
        expect(Object.keys(deliveries.body.fields)).toEqual([name]);
      },
    );
  });

  describe('5. log lines nobody can forge', () => {
    it('escapes request text in every line the module logs, and logs no stack', async () => {
      logs.lines.length = 0;
      const forged =
        'evil\n[Nest] 1  - 12/01/2026, 1:00:00 AM     LOG [RecordingCallback] forged\u001b[31m\u009b2J\u2028';
      const taskId = `log-${forged}`;
      const stream = `s-${forged}`;
      const first = await post(sign(startBody(taskId, { stream })));
      expect(first.body).toMatchObject({ result: 'accepted' });
      const download_url = 'https://obs.example.com/log/file.m3u8';
      await post(
        sign(eventBody(taskId, 'RECORD_FILE_COMPLETE', `job-${forged}`, 'HLS', { stream, download_url })),
      ).expect(200);
      await post({ ...sign(startBody(taskId, { stream })), auth_sign: 'f'.repeat(64) }).expect(401);
      await post({ ...sign(startBody(taskId, { stream })), app: { toString: 1 } }).expect(400);
      await request(app.getHttpServer())
        .post(CALLBACK_PATH)
        .set('Content-Type', 'application/json')
        .send(`{"task_id":"${forged.replace(/\n/g, '\\n')}",`)
        .expect(400);
      // The sample handler logs each completed file; wait for it.
      for (let i = 0; i < 100 && !logs.lines.some((l) => l.context === 'CompletedFiles'); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const lines = logs.of();
      expect(lines.some((l) => l.context === 'CompletedFiles')).toBe(true);
      expect(lines.filter((l) => l.message.includes('log-evil')).length).toBeGreaterThanOrEqual(4);
      for (const line of lines) expect(line.message).not.toMatch(RAW_CONTROL);
      expect(logs.text()).not.toMatch(/\n\s+at /);
    });
  });

  describe('6. permanent errors are 400, not 503', () => {
    it('measures lengths as the columns do: 256 "a\\uFE0F" pairs are 512 characters, refused naming task_id', async () => {
      const res = await refused(sign(startBody('a\uFE0F'.repeat(256), { stream: 's' })), 400);
      expect(Object.keys(res.body.fields)).toEqual(['task_id']);
      await post(sign(startBody(`ok-${'a\uFE0F'.repeat(126)}`, { stream: 's' }))).expect(200);
    });

    it('answers a value the database itself refuses with 400, storing nothing', async () => {
      const ds = app.get(DataSource);
      if (kind === 'postgres') {
        await ds.query(`ALTER TABLE recording_tasks ADD CONSTRAINT test_refuses CHECK (stream <> 'refused-by-db')`);
      } else {
        await ds.query(
          `CREATE TRIGGER test_refuses BEFORE INSERT ON recording_tasks WHEN NEW.stream = 'refused-by-db'
           BEGIN SELECT RAISE(ABORT, 'refused by test'); END`,
        );
      }
      try {
        const res = await refused(sign(startBody('db-refused', { stream: 'refused-by-db' })), 400);
        expect(res.body.message).toMatch(/^invalid value: /);
        // The same callback again is refused again: nothing was half-stored.
        await refused(sign(startBody('db-refused', { stream: 'refused-by-db' })), 400);
      } finally {
        await ds.query(
          kind === 'postgres'
            ? 'ALTER TABLE recording_tasks DROP CONSTRAINT test_refuses'
            : 'DROP TRIGGER test_refuses',
        );
      }
    });
  });

  describe('8. signatures that never expire', () => {
    it('refuses an auth_timestamp ten years ahead as expired, logging timestamp_ahead', async () => {
      logs.lines.length = 0;
      const tenYears = Math.floor(Date.now() / 1000) + 10 * 365 * 86_400;
      const res = await refused(sign(startBody('future-1'), { timestamp: tenYears }), 401);
      expect(res.body.reason).toBe('expired');
      expect(logs.text('warn')).toContain('"reason":"timestamp_ahead"');
      // A day ahead is still accepted (Huawei documents auth_timestamp as an expiry time).
      await post(sign(startBody('future-2'), { timestamp: Math.floor(Date.now() / 1000) + 86_000 })).expect(200);
    });
  });

  describe('secure defaults', () => {
    it('does not serve replay without a guard: 403, and the delivery is left alone', async () => {
      await post(sign(startBody('replay-open'))).expect(200);
      const res = await request(app.getHttpServer()).post(`${CALLBACK_PATH}/deliveries/1/replay`).expect(403);
      expect(res.body.message).toMatch(/operationGuards/);
      expect(startupLog).toContain('operationGuards is empty');
    });

    it('sends helmet headers and no X-Powered-By on every answer', async () => {
      const answers = [
        await post(sign(startBody('headers-1'))),
        await post({}),
        await post({ ...sign(startBody('headers-2')), auth_sign: 'f'.repeat(64) }),
        await request(app.getHttpServer()).get(`${TASKS_PATH}/none-such`),
        await request(app.getHttpServer()).post(CALLBACK_PATH).set('Content-Type', 'application/json').send('{'),
      ];
      expect(answers.map((a) => a.status)).toEqual([200, 401, 401, 404, 400]);
      for (const a of answers) {
        expect(a.headers['x-powered-by']).toBeUndefined();
        expect(a.headers['x-content-type-options']).toBe('nosniff');
        expect(a.headers['content-type']).toMatch(/^application\/json/);
      }
    });

    it('echoes request text only inside JSON and cut to a bounded length', async () => {
      const long = 'z'.repeat(5000);
      const res = await request(app.getHttpServer()).get(`${TASKS_PATH}/${long}`).expect(404);
      expect(res.body.message.length).toBeLessThanOrEqual(301);
    });
  });
});

describe.each(DATABASE_KINDS)('hostile input, MD5 signatures (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startApp(db, { host: { algorithm: 'MD5' } });
  });
  afterAll(async () => {
    await closeApp(app);
    await db?.drop();
  });

  it('answers values of the wrong JSON type with 400 or 401, never 500, storing nothing', async () => {
    const md5 = (body: Record<string, unknown>) => sign(body, { algorithm: 'MD5' });
    for (const value of HOSTILE_VALUES) {
      for (const field of SIGNED_TEXT_FIELDS) {
        const res = await request(app.getHttpServer())
          .post(CALLBACK_PATH)
          .send({ ...md5(startBody('md5-type')), [field]: value });
        expect([res.status, Object.keys(res.body.fields ?? {})]).toEqual([400, [field]]);
      }
      if (typeof value !== 'number') {
        const ts = await request(app.getHttpServer())
          .post(CALLBACK_PATH)
          .send({ ...md5(startBody('md5-type')), auth_timestamp: value });
        expect([ts.status, ts.body.reason]).toEqual([401, 'bad_signature']);
      }
    }
    await request(app.getHttpServer())
      .post(CALLBACK_PATH)
      .send(md5(startBody('md5-type')))
      .expect(200);
    expect(await callbackCount(app)).toBe(1);
  });
});

describe('hostile input: a connection that never sends a byte', () => {
  it('is closed after the request timeout (headersTimeout starts only with the first byte)', async () => {
    const db = await createTestDatabase('sqlite');
    const app = await startApp(db, {
      host: { http: { headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 500 } },
    });
    try {
      const port = await listen(app);
      const silent = await rawExchange(port, '', []);
      expect(silent.closedByServer).toBe(true);
      expect(silent.response).toBe('');
    } finally {
      await closeApp(app);
      await db.drop();
    }
  });
});

/** A guard of the app that fails with a plain Error: what any bug in app code looks like. */
class BrokenGuard implements CanActivate {
  canActivate(): boolean {
    throw new Error('guard bug\nsecond line');
  }
}

describe.each(DATABASE_KINDS)('hostile input with per-domain keys (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;
  const logs = new CapturingLogger();

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startApp(db, {
      module: {
        auth: {
          domains: {
            'push.a.example': { algorithm: 'HMACSHA256', keys: [KEY_A] },
            'push.b.example': { algorithm: 'MD5', keys: [KEY_D] },
          },
        },
        queryGuards: [new BrokenGuard()],
      },
      logger: logs,
    });
  });
  afterAll(async () => {
    await closeApp(app);
    await db?.drop();
  });

  const post = (body: unknown) =>
    request(app.getHttpServer())
      .post(CALLBACK_PATH)
      .send(body as object);

  describe('7. no signature oracles', () => {
    it('answers an unknown domain exactly as a wrong signature, and logs the exact reason', async () => {
      logs.lines.length = 0;
      const unknown = await post(sign(startBody('oracle-1', { publish_domain: 'push.c.example' })));
      const wrong = await post({
        ...sign(startBody('oracle-2', { publish_domain: 'push.a.example' })),
        auth_sign: 'f'.repeat(64),
      });
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(wrong.body);
      expect(unknown.body.reason).toBe('bad_signature');
      expect(logs.text('warn')).toContain('"reason":"unknown_domain"');
      expect(logs.text('warn')).toContain('"reason":"bad_signature"');
    });

    it('checks the time window before the signature: an old forgery is `expired`, never confirming a signature', async () => {
      const old = Math.floor(Date.now() / 1000) - 3600;
      const forged = {
        ...sign(startBody('oracle-3', { publish_domain: 'push.a.example' }), { timestamp: old }),
        auth_sign: '0'.repeat(64),
      };
      const genuine = sign(startBody('oracle-3', { publish_domain: 'push.a.example' }), { timestamp: old });
      const a = await post(forged);
      const b = await post(genuine);
      expect([a.status, a.body.reason]).toEqual([401, 'expired']);
      expect(b.body).toEqual(a.body);
    });
  });

  it('a task of one domain is not taken over by another: 400 naming both domains, in the answer and the log', async () => {
    logs.lines.length = 0;
    await post(sign(startBody('squat-1', { publish_domain: 'push.a.example' }))).expect(200);
    const other = sign(eventBody('squat-1', 'RECORD_OVER', undefined, 'HLS', { publish_domain: 'push.b.example' }), {
      key: KEY_D,
      algorithm: 'MD5',
    });
    const res = await post(other).expect(400);
    expect(res.body.fields.publish_domain[0]).toContain('"push.b.example" differs from "push.a.example"');
    const line = logs.of('warn').find((l) => l.message.includes('squat-1'));
    expect(JSON.parse(line!.message).message).toContain('"push.b.example" differs from "push.a.example"');
    // A long value is cut so that both values and the task id still fit in the answer and the log line.
    const longStream = sign(
      eventBody('squat-1', 'RECORD_OVER', undefined, 'HLS', {
        publish_domain: 'push.a.example',
        stream: 's'.repeat(256),
      }),
    );
    const cut = (await post(longStream).expect(400)).body.fields.stream[0] as string;
    expect(cut).toMatch(/^stream "s{48}…" differs from "stream-squat-1", the stream of task "squat-1"$/);
  });

  it('answers an unexpected error with 503 and a request id, logged once as one escaped line without a stack', async () => {
    logs.lines.length = 0;
    const res = await request(app.getHttpServer()).get(TASKS_PATH).set('X-Request-Id', 'req-42').expect(503);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'unexpected error; try again later',
      requestId: 'req-42',
    });
    const errors = logs.of('error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toContain('"requestId":"req-42"');
    expect(errors[0].message).toContain('guard bug\\nsecond line');
    expect(errors[0].message).not.toMatch(RAW_CONTROL);
    // A request id the client cannot inject into the log: made up instead.
    const made = await request(app.getHttpServer()).get(TASKS_PATH).set('X-Request-Id', 'bad id; DROP').expect(503);
    expect(made.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
