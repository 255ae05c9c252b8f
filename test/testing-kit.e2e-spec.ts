// The example test of docs/developer-experience.md: a user's e2e test sends genuinely signed callbacks
// built by the test kit, in one line each.
import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import {
  RecordFormat,
  buildRecordFileComplete,
  buildRecordStart,
  signRecordingCallback,
} from '../src/recording-callback/testing';
import { KEY_A, KEY_B } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';

describe('test kit against the host app (sqlite)', () => {
  let db: TestDatabase;
  let app: NestExpressApplication;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await startApp(db, { host: { keys: [KEY_A] } });
  });
  afterAll(async () => {
    await closeApp(app);
    await db.drop();
  });

  it('sends a signed RECORD_FILE_COMPLETE in one line, and the task shows the file', async () => {
    const body = buildRecordFileComplete({ task_id: 'kit-1', job_id: 'job-1', record_format: RecordFormat.Mp4 });

    await request(app.getHttpServer())
      .post('/recording-callbacks')
      .send(signRecordingCallback(body, { key: KEY_A }))
      .expect(200)
      .expect(({ body: answer }) => expect(answer).toMatchObject({ result: 'accepted' }));

    const task = await request(app.getHttpServer()).get('/recording-tasks/kit-1').expect(200);
    expect(task.body).toMatchObject({ taskId: 'kit-1', status: 'RECORDING', recordFormat: 'MP4' });
    expect(task.body.files).toEqual([
      expect.objectContaining({
        jobId: 'job-1',
        recordFormat: 'MP4',
        status: 'COMPLETE',
        downloadUrl: body.download_url,
        fileSize: body.file_size,
        recordDuration: 120,
        width: 1280,
        height: 720,
      }),
    ]);
  });

  it('produces signatures the module refuses when they should be refused', async () => {
    const server = app.getHttpServer();
    const start = buildRecordStart({ task_id: 'kit-2' });
    await request(server)
      .post('/recording-callbacks')
      .send(signRecordingCallback(start, { key: KEY_B }))
      .expect(401)
      .expect(({ body }) => expect(body.reason).toBe('bad_signature'));
    await request(server)
      .post('/recording-callbacks')
      .send(signRecordingCallback(start, { key: KEY_A, expiresInSeconds: -3600 }))
      .expect(401)
      .expect(({ body }) => expect(body.reason).toBe('expired'));
    await request(server).get('/recording-tasks/kit-2').expect(404);
  });
});

describe('test kit in MD5 mode (sqlite)', () => {
  it('signs MD5 callbacks the module accepts', async () => {
    const db = await createTestDatabase('sqlite');
    const app = await startApp(db, { host: { algorithm: 'MD5', keys: [KEY_A] } });
    try {
      await request(app.getHttpServer())
        .post('/recording-callbacks')
        .send(signRecordingCallback(buildRecordStart({ task_id: 'kit-md5' }), { key: KEY_A, algorithm: 'MD5' }))
        .expect(200)
        .expect((res) => expect(res.body).toEqual({ result: 'accepted', callbackId: expect.any(Number) }));
    } finally {
      await closeApp(app);
      await db.drop();
    }
  });
});
