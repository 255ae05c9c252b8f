// /health of the host app (Terminus + RecordingHealthIndicator) on both databases.
import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { buildRecordStart, signRecordingCallback } from '../src/recording-callback/testing';
import { KEY_A } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';

describe.each(DATABASE_KINDS)('GET /health of the host app (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startApp(db, { host: { queryToken: 'query-secret' } });
  });
  afterAll(async () => {
    await closeApp(app);
    await db.drop();
  });

  it('is 200 without a token, with the database, the deliveries and the last callback', async () => {
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.headers['cache-control']).toMatch(/no-store/);
    expect(res.body).toMatchObject({
      status: 'ok',
      details: {
        recording_database: { status: 'up' },
        recording_deliveries: { status: 'up', backlog: 0, deadLetters: 0, maxBacklog: 1000, maxDeadLetters: 100 },
        recording_callbacks: { status: 'up', lastCallbackAt: null, ageSeconds: null, maxSilenceSeconds: null },
      },
    });
  });

  it('reports when the last callback was stored', async () => {
    const before = Date.now();
    await request(app.getHttpServer())
      .post('/recording-callbacks')
      .send(signRecordingCallback(buildRecordStart({ task_id: 'health-1' }), { key: KEY_A }))
      .expect(200);
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    const last = res.body.details.recording_callbacks;
    expect(Date.parse(last.lastCallbackAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(last.lastCallbackAt)).toBeLessThanOrEqual(Date.now());
    expect(last.ageSeconds).toBeLessThanOrEqual(5);
  });

  it('is 503 with the database down once the DataSource is gone', async () => {
    await app.get(DataSource).destroy();
    const res = await request(app.getHttpServer()).get('/health').expect(503);
    expect(res.body.status).toBe('error');
    expect(res.body.error.recording_database.status).toBe('down');
    expect(res.body.error.recording_deliveries.status).toBe('down');
    expect(res.body.error.recording_callbacks.status).toBe('down');
  });
});
