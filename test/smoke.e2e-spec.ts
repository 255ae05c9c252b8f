import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { sign, startBody } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startHostApp } from './support/host-app';

describe.each(DATABASE_KINDS)('host app smoke (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startHostApp(db);
  });
  afterAll(async () => {
    await closeApp(app);
    await db.drop();
  });

  it('accepts a signed RECORD_START and serves the task', async () => {
    const server = app.getHttpServer();
    await request(server)
      .post('/recording-callbacks')
      .send(sign(startBody('smoke-1')))
      .expect(200, { result: 'accepted', callbackId: 1 });
    const res = await request(server).get('/recording-tasks/smoke-1').expect(200);
    expect(res.body).toMatchObject({ taskId: 'smoke-1', status: 'RECORDING', files: [] });
  });
});
