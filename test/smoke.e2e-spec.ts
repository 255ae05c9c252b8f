import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { sign, startBody } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';

describe.each(DATABASE_KINDS)('host app smoke (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startApp(db, { host: {} });
  });
  afterAll(async () => {
    await closeApp(app);
    await db.drop();
  });

  it('accepts a signed RECORD_START and serves the task', async () => {
    const server = app.getHttpServer();
    const accepted = await request(server)
      .post('/recording-callbacks')
      .send(sign(startBody('smoke-1')))
      .expect(200);
    expect(accepted.body).toEqual({ result: 'accepted', callbackId: expect.any(Number) });
    expect(Number.isInteger(accepted.body.callbackId) && accepted.body.callbackId > 0).toBe(true);
    const res = await request(server).get('/recording-tasks/smoke-1').expect(200);
    expect(res.body).toMatchObject({ taskId: 'smoke-1', status: 'RECORDING', files: [] });
  });
});
