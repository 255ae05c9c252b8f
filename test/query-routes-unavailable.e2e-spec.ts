// The query and operations routes while PostgreSQL is down: 503 "try again" with a request id, never a
// 500 or a hang, and 200 again once it is back, without a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { KEY_A, eventually, sign, startBody } from './support/callbacks';
import type { TestDatabase } from './support/databases';
import { CALLBACK_PATH } from './support/e2e-helpers';
import { closeApp, startApp } from './support/start-app';
import { startOwnPostgres } from './support/own-postgres';
import type { OwnPostgres } from './support/own-postgres';

const TOKEN = 'query-token-for-503';

describe('query routes while the database is down (PostgreSQL stopped)', () => {
  let pg: OwnPostgres;
  let app: NestExpressApplication;
  let scratch: string;
  let taskId: string;
  let deliveryId: number;

  const routes = (): Array<[string, () => request.Test]> => {
    const http = () => request(app.getHttpServer());
    const auth = { Authorization: `Bearer ${TOKEN}` };
    return [
      ['GET one task', () => http().get(`/recording-tasks/${taskId}`).set(auth)],
      ['GET the task list', () => http().get('/recording-tasks?limit=5').set(auth)],
      ['GET transitions', () => http().get(`/recording-tasks/${taskId}/transitions`).set(auth)],
      ['GET deliveries', () => http().get(`${CALLBACK_PATH}/deliveries`).set(auth)],
      ['POST replay', () => http().post(`${CALLBACK_PATH}/deliveries/${deliveryId}/replay`).set(auth)],
    ];
  };

  beforeAll(async () => {
    pg = await startOwnPostgres();
    scratch = mkdtempSync(join(tmpdir(), 'rc-503-'));
    const db: TestDatabase = {
      kind: 'postgres',
      databaseUrl: await pg.createDatabase('rc_unavailable'),
      sqlitePath: join(scratch, 'unused.sqlite'),
      drop: async () => undefined,
    };
    app = await startApp(db, { host: { poolSize: 3, keys: [KEY_A], queryToken: TOKEN } });
    taskId = `unavailable-${process.pid}`;
    const stored = await request(app.getHttpServer())
      .post(CALLBACK_PATH)
      .send(sign(startBody(taskId)))
      .expect(200);
    expect(stored.body.result).toBe('accepted');
    const list = await request(app.getHttpServer())
      .get(`${CALLBACK_PATH}/deliveries?taskId=${taskId}`)
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200);
    deliveryId = list.body.items[0].id;
    // Every route answers while the database is up (so the 503s below are the outage, not the request).
    for (const [, call] of routes()) expect((await call()).status).toBeLessThan(300);
  });
  afterAll(async () => {
    await closeApp(app);
    await pg?.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('answers each route 503 "storage unavailable" with a request id, then 200 again after the restart', async () => {
    await pg.stop('fast');
    for (const [name, call] of routes()) {
      const res = await call();
      expect({ name, status: res.status }).toEqual({ name, status: 503 });
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'storage unavailable; try again later',
        requestId: expect.any(String),
      });
    }
    await pg.start();
    // Back without a restart: each route answers from the database again (a replay may meet its delivery
    // running, a 409, which is an answer from the database too).
    for (const [name, call] of routes()) {
      let last = 0;
      await eventually(async () => (last = (await call()).status) < 500, 15_000).catch(() => {
        throw new Error(`${name} did not recover (last status ${last})`);
      });
      expect({ name, ok: last < 300 || (name === 'POST replay' && last === 409) }).toEqual({ name, ok: true });
    }
  });
});
