import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { KEY_A, eventBody, sign, startBody } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { ISO_UTC, TASKS_PATH, postCallback, shuffled, storedCallbacks } from './support/e2e-helpers';
import { closeApp, startApp } from './support/start-app';

type Body = Record<string, unknown>;

/** Sends bodies one after another (signed now), expecting 200 for each. */
async function sendAll(app: NestExpressApplication, bodies: Body[]): Promise<void> {
  for (const body of bodies) {
    const res = await postCallback(app, sign(body));
    expect({ status: res.status, event: body.event_type, answer: res.body }).toMatchObject({
      status: 200,
      answer: { result: 'accepted' },
    });
  }
}

async function getTask(app: NestExpressApplication, taskId: string) {
  return (await request(app.getHttpServer()).get(`${TASKS_PATH}/${taskId}`).expect(200)).body;
}

async function getTransitions(app: NestExpressApplication, taskId: string) {
  return (await request(app.getHttpServer()).get(`${TASKS_PATH}/${taskId}/transitions`).expect(200)).body.items;
}

/** What must not depend on arrival order: status, error, files (sorted), identity fields. */
function essence(task: {
  status: string;
  errorMessage: string | null;
  projectId: string | null;
  publishDomain: string;
  app: string;
  stream: string;
  files: Array<{ jobId: string; recordFormat: string }>;
}) {
  const files = [...task.files].sort((a, b) =>
    `${a.jobId}/${a.recordFormat}`.localeCompare(`${b.jobId}/${b.recordFormat}`),
  );
  return {
    status: task.status,
    errorMessage: task.errorMessage,
    projectId: task.projectId,
    publishDomain: task.publishDomain,
    app: task.app,
    stream: task.stream,
    files,
  };
}

const RANK: Record<string, number> = { RECORDING: 0, OVER: 1, FAILED: 2 };

/** Transitions form a chain that only moves up: null → … → final status. */
function expectMonotonicChain(
  items: Array<{ fromStatus: string | null; toStatus: string }>,
  finalStatus: string,
): void {
  expect(items.length).toBeGreaterThan(0);
  expect(items[0].fromStatus).toBeNull();
  for (let i = 1; i < items.length; i++) {
    expect(items[i].fromStatus).toBe(items[i - 1].toStatus);
  }
  for (const item of items) {
    if (item.fromStatus !== null) expect(RANK[item.toStatus]).toBeGreaterThan(RANK[item.fromStatus]);
  }
  expect(items[items.length - 1].toStatus).toBe(finalStatus);
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe.each(DATABASE_KINDS)('callback ingest (%s)', (kind) => {
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

  describe('200 accepted / duplicate', () => {
    it('answers 200 {"result":"accepted"} and stores the callback once', async () => {
      const res = await postCallback(app, sign(startBody('acc-1'))).expect(200);
      expect(res.body).toMatchObject({ result: 'accepted' });
      expect(typeof res.body.callbackId).toBe('number');
      const rows = await storedCallbacks(app, 'acc-1');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ id: res.body.callbackId, event_type: 'RECORD_START' });
    });

    it('answers a re-sent callback with a new auth_timestamp and auth_sign as a duplicate, stored once', async () => {
      const body = eventBody('dup-1', 'RECORD_FILE_COMPLETE', 'job-1');
      const now = Math.floor(Date.now() / 1000);
      const first = sign(body, { timestamp: now });
      const again = sign(body, { timestamp: now + 7 });
      expect(again.auth_sign).not.toBe(first.auth_sign);

      const a = await postCallback(app, first).expect(200);
      expect(a.body).toMatchObject({ result: 'accepted' });
      const b = await postCallback(app, again).expect(200);
      expect(b.body).toMatchObject({ result: 'duplicate' });
      // The exact same request again is a duplicate too.
      const c = await postCallback(app, first).expect(200);
      expect(c.body).toMatchObject({ result: 'duplicate' });

      expect(await storedCallbacks(app, 'dup-1')).toHaveLength(1);
      expect(await getTransitions(app, 'dup-1')).toHaveLength(1);
      const task = await getTask(app, 'dup-1');
      expect(task.files).toHaveLength(1);
    });

    it('treats the same content with fields in another order as a duplicate', async () => {
      const body = startBody('dup-order');
      const reversed = Object.fromEntries(Object.entries(body).reverse());
      await postCallback(app, sign(body)).expect(200, /"accepted"/);
      const res = await postCallback(app, sign(reversed, { timestamp: Math.floor(Date.now() / 1000) + 1 })).expect(200);
      expect(res.body).toMatchObject({ result: 'duplicate' });
      expect(await storedCallbacks(app, 'dup-order')).toHaveLength(1);
    });

    it('does not take a callback whose content differs for a duplicate', async () => {
      await postCallback(app, sign(startBody('dup-diff'))).expect(200, /"accepted"/);
      const res = await postCallback(app, sign(startBody('dup-diff', { project_id: 'proj-2' }))).expect(200);
      expect(res.body).toMatchObject({ result: 'accepted' });
      const over = await postCallback(app, sign(eventBody('dup-diff', 'RECORD_OVER'))).expect(200);
      expect(over.body).toMatchObject({ result: 'accepted' });
      expect(await storedCallbacks(app, 'dup-diff')).toHaveLength(3);
    });
  });

  describe('concurrent callbacks', () => {
    it('stores a callback sent several times at once exactly once', async () => {
      const body = eventBody('conc-dup', 'RECORD_FILE_COMPLETE', 'job-1', 'FLV');
      const now = Math.floor(Date.now() / 1000);
      const answers = await Promise.all(
        [0, 1, 2, 3, 4, 5].map((i) => postCallback(app, sign(body, { timestamp: now + i }))),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const results = answers.map((a) => a.body.result).sort();
      expect(results).toEqual(['accepted', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
      expect(await storedCallbacks(app, 'conc-dup')).toHaveLength(1);
      expect(await getTransitions(app, 'conc-dup')).toHaveLength(1);
    });

    it('reaches the expected state when a whole lifecycle of several tasks arrives at once', async () => {
      const tasks = ['conc-a', 'conc-b', 'conc-c'];
      const bodies = tasks.flatMap((taskId) => [
        startBody(taskId, { stream: 'conc' }),
        eventBody(taskId, 'RECORD_NEW_FILE_START', 'job-1', 'HLS', { stream: 'conc' }),
        eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-1', 'HLS', {
          stream: 'conc',
          download_url: 'https://obs.example.com/c/1.m3u8',
        }),
        eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-1', 'MP4', {
          stream: 'conc',
          download_url: 'https://obs.example.com/c/1.mp4',
        }),
        eventBody(taskId, 'RECORD_FAILED', undefined, 'HLS', { stream: 'conc' }),
        eventBody(taskId, 'RECORD_OVER', undefined, 'HLS', { stream: 'conc' }),
      ]);
      const answers = await Promise.all(shuffled(bodies, 7).map((b) => postCallback(app, sign(b))));
      expect(answers.map((a) => `${a.status} ${a.body.result}`)).toEqual(bodies.map(() => '200 accepted'));
      for (const taskId of tasks) {
        const task = essence(await getTask(app, taskId));
        expect(task).toMatchObject({
          status: 'FAILED',
          errorMessage: 'upload to OBS failed',
          files: [
            {
              jobId: 'job-1',
              recordFormat: 'HLS',
              status: 'COMPLETE',
              downloadUrl: 'https://obs.example.com/c/1.m3u8',
            },
            { jobId: 'job-1', recordFormat: 'MP4', status: 'COMPLETE', downloadUrl: 'https://obs.example.com/c/1.mp4' },
          ],
        });
        expect(task.files).toHaveLength(2);
        expectMonotonicChain(await getTransitions(app, taskId), 'FAILED');
        expect(await storedCallbacks(app, taskId)).toHaveLength(6);
      }
    });
  });

  describe('unknown extra fields', () => {
    it('accepts them and keeps them in the stored payload', async () => {
      const body = startBody('extra-1', {
        new_huawei_field: 'kept',
        nested_extension: { region: 'cn-north-4', tags: ['a', 'b'], weight: 3 },
        numeric_extension: 42,
      });
      const res = await postCallback(app, sign(body)).expect(200);
      expect(res.body).toMatchObject({ result: 'accepted' });
      const [row] = await storedCallbacks(app, 'extra-1');
      expect(row.payload).toMatchObject({
        task_id: 'extra-1',
        event_type: 'RECORD_START',
        new_huawei_field: 'kept',
        nested_extension: { region: 'cn-north-4', tags: ['a', 'b'], weight: 3 },
        numeric_extension: 42,
      });
      expect((await getTask(app, 'extra-1')).status).toBe('RECORDING');
    });

    it('keeps unknown fields on a file event too', async () => {
      const body = eventBody('extra-2', 'RECORD_FILE_COMPLETE', 'job-x', 'MP4', {
        obs_location: 'cn-north-4',
        obs_bucket: 'records',
        obs_object: 'live/x.mp4',
        future_field: true,
      });
      await postCallback(app, sign(body)).expect(200, /"accepted"/);
      const [row] = await storedCallbacks(app, 'extra-2');
      expect(row.payload).toMatchObject({ future_field: true, obs_bucket: 'records', job_id: 'job-x' });
    });
  });

  describe('400 bad request', () => {
    it('refuses malformed JSON', async () => {
      const res = await request(app.getHttpServer())
        .post('/recording-callbacks')
        .set('Content-Type', 'application/json')
        .send('{"task_id": "bad-json", "event_type": ');
      expect(res.status).toBe(400);
    });

    it.each([
      ['a JSON array', JSON.stringify([sign(startBody('not-object'))])],
      ['a JSON string', JSON.stringify('RECORD_START')],
      ['a JSON number', '42'],
      ['JSON null', 'null'],
    ])('refuses %s as body', async (_label, raw) => {
      const res = await request(app.getHttpServer())
        .post('/recording-callbacks')
        .set('Content-Type', 'application/json')
        .send(raw);
      expect(res.status).toBe(400);
    });

    it('refuses an unknown event_type and names the field', async () => {
      const res = await postCallback(app, sign(startBody('bad-type', { event_type: 'RECORD_PAUSED' })));
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('event_type');
      await request(app.getHttpServer()).get(`${TASKS_PATH}/bad-type`).expect(404);
    });

    it('refuses a missing event_type', async () => {
      const { event_type: _omitted, ...body } = startBody('no-type');
      const res = await postCallback(app, sign(body));
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('event_type');
    });

    it('names every invalid field of a RECORD_FILE_COMPLETE', async () => {
      const body = eventBody('bad-fields', 'RECORD_FILE_COMPLETE', 'job-1', 'HLS', {
        file_size: -1,
        record_duration: 'long',
        start_time: '2020-03-08 14:10:25',
        width: 1.5,
        record_format: 'AVI',
      });
      delete body.download_url;
      const res = await postCallback(app, sign(body));
      expect(res.status).toBe(400);
      const text = JSON.stringify(res.body);
      for (const field of ['file_size', 'record_duration', 'start_time', 'width', 'record_format', 'download_url']) {
        expect(text).toContain(field);
      }
      await request(app.getHttpServer()).get(`${TASKS_PATH}/bad-fields`).expect(404);
      expect(await storedCallbacks(app, 'bad-fields')).toHaveLength(0);
    });

    it('names a missing required field (task_id) and a missing job_id', async () => {
      const { task_id: _omitted, ...noTask } = startBody('x');
      const a = await postCallback(app, sign(noTask));
      expect(a.status).toBe(400);
      expect(JSON.stringify(a.body)).toContain('task_id');

      const b = await postCallback(app, sign(eventBody('no-job', 'RECORD_NEW_FILE_START')));
      expect(b.status).toBe(400);
      expect(JSON.stringify(b.body)).toContain('job_id');
    });

    it('accepts and signs UTF-8 names (HMAC over UTF-8 bytes)', async () => {
      const body = startBody('utf8-1', { app: '直播', stream: 'übertragung-测试-🎥' });
      const res = await postCallback(app, sign(body));
      expect(res.status).toBe(200);
      expect(await getTask(app, 'utf8-1')).toMatchObject({ app: '直播', stream: 'übertragung-测试-🎥' });
    });

    it('refuses an impossible calendar time', async () => {
      const body = eventBody('bad-date', 'RECORD_FILE_COMPLETE', 'job-1', 'HLS', { end_time: '2020-02-30T10:00:00Z' });
      const res = await postCallback(app, sign(body));
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('end_time');
    });
  });

  describe('values a database column cannot hold', () => {
    // Each of these is a well-formed JSON callback with a valid signature. Whatever the module decides
    // (store it, or refuse the field with 400), it must not answer 503 "storage unavailable": the database
    // is up, and a sender that retries on 503 would retry forever.
    it.each([
      [
        'record_duration above the 32-bit integer range',
        'RECORD_FILE_COMPLETE',
        { record_duration: 3_000_000_000 },
        'record_duration',
      ],
      ['width above the 32-bit integer range', 'RECORD_FILE_COMPLETE', { width: 3_000_000_000 }, 'width'],
      ['file_size above the 64-bit integer range', 'RECORD_FILE_COMPLETE', { file_size: 1e19 }, 'file_size'],
      [
        'record_duration above the 32-bit range on a new file',
        'RECORD_NEW_FILE_START',
        { record_duration: 3_000_000_000 },
        'record_duration',
      ],
      ['a NUL character in stream', 'RECORD_START', { stream: 'cam\u00001' }, 'stream'],
      ['a NUL character in an unknown extra field', 'RECORD_START', { vendor_note: 'a\u0000b' }, 'vendor_note'],
      ['a lone UTF-16 surrogate in an unknown extra field', 'RECORD_START', { vendor_note: 'x\ud800y' }, 'vendor_note'],
    ])(
      'answers a 400 naming the field (never 200 with a cut value, never 503) for %s',
      async (label, eventType, over, field) => {
        const taskId = `limits-${label.replace(/[^a-z0-9]+/gi, '-')}`;
        const res = await postCallback(app, sign(eventBody(taskId, eventType, 'job-1', 'HLS', over)));
        expect(res.status).toBe(400);
        expect(Object.keys(res.body.fields)).toContain(field);
        expect(await storedCallbacks(app, taskId)).toHaveLength(0);
        // The task still takes ordinary callbacks afterwards.
        await postCallback(app, sign(eventBody(taskId, 'RECORD_OVER'))).expect(200);
      },
    );
  });

  describe('413 body limit', () => {
    it('refuses a body over 64 KiB', async () => {
      const body = sign(startBody('too-big', { padding: 'x'.repeat(66 * 1024) }));
      const res = await postCallback(app, body);
      expect(res.status).toBe(413);
      await request(app.getHttpServer()).get(`${TASKS_PATH}/too-big`).expect(404);
    });

    it('accepts a body of exactly 64 KiB and refuses one byte more', async () => {
      const padded = (taskId: string, size: number) => {
        const body = sign(startBody(taskId, { padding: '' }));
        const bare = Buffer.byteLength(JSON.stringify(body));
        return { ...body, padding: 'x'.repeat(size - bare) };
      };
      const exact = padded('size-exact', 64 * 1024);
      expect(Buffer.byteLength(JSON.stringify(exact))).toBe(65536);
      const ok = await postCallback(app, exact);
      expect(ok.status).toBe(200);
      const over = padded('size-over', 64 * 1024 + 1);
      expect(Buffer.byteLength(JSON.stringify(over))).toBe(65537);
      expect((await postCallback(app, over)).status).toBe(413);
    });

    it('still accepts a body just under 64 KiB', async () => {
      const body = sign(startBody('big-ok', { padding: 'x'.repeat(63 * 1024) }));
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(64 * 1024);
      const res = await postCallback(app, body);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ result: 'accepted' });
    });
  });

  describe('task state', () => {
    /** One lifecycle; only task_id differs between tasks, so their final states must be equal. */
    const lifecycle = (taskId: string): Body[] => {
      const same = { stream: 'order-test' };
      const url = (job: string, ext: string) => ({
        ...same,
        download_url: `https://obs.example.com/order/${job}.${ext}`,
      });
      return [
        startBody(taskId, same),
        eventBody(taskId, 'RECORD_NEW_FILE_START', 'job-1', 'HLS', same),
        eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-1', 'HLS', url('job-1', 'm3u8')),
        eventBody(taskId, 'RECORD_NEW_FILE_START', 'job-2', 'HLS', same),
        eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-2', 'HLS', url('job-2', 'm3u8')),
        eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-2', 'MP4', url('job-2', 'mp4')),
        eventBody(taskId, 'RECORD_OVER', undefined, 'HLS', same),
      ];
    };

    it('reaches the same final status and files whatever the arrival order', async () => {
      const orders: Array<[string, number[]]> = [
        ['forward', [0, 1, 2, 3, 4, 5, 6]],
        ['reverse', [6, 5, 4, 3, 2, 1, 0]],
        ...[11, 23, 37, 41].map((seed): [string, number[]] => [
          `shuffle-${seed}`,
          shuffled([0, 1, 2, 3, 4, 5, 6], seed),
        ]),
      ];
      const results = [];
      for (const [name, order] of orders) {
        const taskId = `ooo-${name}`;
        const events = lifecycle(taskId);
        await sendAll(
          app,
          order.map((i) => events[i]),
        );
        const task = await getTask(app, taskId);
        results.push(essence(task));
        expectMonotonicChain(await getTransitions(app, taskId), 'OVER');
      }
      const expected = results[0];
      expect(expected.status).toBe('OVER');
      expect(expected.files).toMatchObject([
        {
          jobId: 'job-1',
          recordFormat: 'HLS',
          status: 'COMPLETE',
          downloadUrl: 'https://obs.example.com/order/job-1.m3u8',
        },
        {
          jobId: 'job-2',
          recordFormat: 'HLS',
          status: 'COMPLETE',
          downloadUrl: 'https://obs.example.com/order/job-2.m3u8',
        },
        {
          jobId: 'job-2',
          recordFormat: 'MP4',
          status: 'COMPLETE',
          downloadUrl: 'https://obs.example.com/order/job-2.mp4',
        },
      ]);
      for (const result of results) expect(result).toEqual(expected);
    });

    it('reaches FAILED with the error message in every order of START, NEW_FILE_START, FAILED, OVER', async () => {
      const results = [];
      let n = 0;
      for (const order of permutations([0, 1, 2, 3])) {
        const taskId = `perm-fail-${n++}`;
        const same = { stream: 'perm-fail' };
        const events = [
          startBody(taskId, same),
          eventBody(taskId, 'RECORD_NEW_FILE_START', 'job-1', 'FLV', same),
          eventBody(taskId, 'RECORD_FAILED', undefined, 'FLV', same),
          eventBody(taskId, 'RECORD_OVER', undefined, 'FLV', same),
        ];
        await sendAll(
          app,
          order.map((i) => events[i]),
        );
        results.push(essence(await getTask(app, taskId)));
        expectMonotonicChain(await getTransitions(app, taskId), 'FAILED');
      }
      expect(results).toHaveLength(24);
      expect(results[0]).toMatchObject({
        status: 'FAILED',
        errorMessage: 'upload to OBS failed',
        files: [{ jobId: 'job-1', recordFormat: 'FLV', status: 'RECORDING' }],
      });
      for (const result of results) expect(result).toEqual(results[0]);
    });

    it('applies late file events after OVER: the file completes and the task stays OVER', async () => {
      await sendAll(app, [
        startBody('late-1'),
        eventBody('late-1', 'RECORD_OVER'),
        eventBody('late-1', 'RECORD_NEW_FILE_START', 'job-1'),
        eventBody('late-1', 'RECORD_FILE_COMPLETE', 'job-1'),
      ]);
      const task = await getTask(app, 'late-1');
      expect(task.status).toBe('OVER');
      expect(task.files).toEqual([
        expect.objectContaining({
          jobId: 'job-1',
          status: 'COMPLETE',
          downloadUrl: 'https://obs.example.com/late-1/job-1.hls',
        }),
      ]);
      const transitions = await getTransitions(app, 'late-1');
      expect(transitions.map((t: { toStatus: string }) => t.toStatus)).toEqual(['RECORDING', 'OVER']);
      expect(await storedCallbacks(app, 'late-1')).toHaveLength(4);
    });

    it('ends FAILED when FAILED comes before OVER', async () => {
      await sendAll(app, [
        startBody('fail-then-over'),
        eventBody('fail-then-over', 'RECORD_FAILED'),
        eventBody('fail-then-over', 'RECORD_OVER'),
      ]);
      const task = await getTask(app, 'fail-then-over');
      expect(task).toMatchObject({ status: 'FAILED', errorMessage: 'upload to OBS failed' });
      const transitions = await getTransitions(app, 'fail-then-over');
      expect(transitions).toMatchObject([
        { fromStatus: null, toStatus: 'RECORDING', eventType: 'RECORD_START' },
        { fromStatus: 'RECORDING', toStatus: 'FAILED', eventType: 'RECORD_FAILED' },
      ]);
    });

    it('ends FAILED when OVER comes before FAILED', async () => {
      await sendAll(app, [
        startBody('over-then-fail'),
        eventBody('over-then-fail', 'RECORD_OVER'),
        eventBody('over-then-fail', 'RECORD_FAILED'),
      ]);
      const task = await getTask(app, 'over-then-fail');
      expect(task).toMatchObject({ status: 'FAILED', errorMessage: 'upload to OBS failed' });
      const transitions = await getTransitions(app, 'over-then-fail');
      expect(transitions).toMatchObject([
        { fromStatus: null, toStatus: 'RECORDING', eventType: 'RECORD_START' },
        { fromStatus: 'RECORDING', toStatus: 'OVER', eventType: 'RECORD_OVER' },
        { fromStatus: 'OVER', toStatus: 'FAILED', eventType: 'RECORD_FAILED' },
      ]);
    });

    it('never lets a later RECORD_NEW_FILE_START erase the details of a completed file', async () => {
      await sendAll(app, [
        eventBody('nfs-after', 'RECORD_FILE_COMPLETE', 'job-1', 'MP4'),
        eventBody('nfs-after', 'RECORD_NEW_FILE_START', 'job-1', 'MP4'),
      ]);
      const task = await getTask(app, 'nfs-after');
      expect(task.files).toHaveLength(1);
      const [file] = task.files;
      expect(file).toMatchObject({
        jobId: 'job-1',
        recordFormat: 'MP4',
        status: 'COMPLETE',
        downloadUrl: 'https://obs.example.com/nfs-after/job-1.mp4',
        assetId: 'asset-job-1',
        fileSize: 3957964,
        recordDuration: 120,
        width: 1280,
        height: 720,
      });
      expect(Date.parse(file.startTime)).toBe(Date.parse('2020-03-08T14:10:25Z'));
      expect(Date.parse(file.endTime)).toBe(Date.parse('2020-03-08T14:12:25Z'));
    });

    it('gives one file per record format for one job_id', async () => {
      await sendAll(app, [
        startBody('formats'),
        eventBody('formats', 'RECORD_FILE_COMPLETE', 'job-1', 'HLS'),
        eventBody('formats', 'RECORD_FILE_COMPLETE', 'job-1', 'FLV'),
        eventBody('formats', 'RECORD_FILE_COMPLETE', 'job-1', 'MP4'),
      ]);
      const task = await getTask(app, 'formats');
      const files = [...task.files].sort((a: { recordFormat: string }, b: { recordFormat: string }) =>
        a.recordFormat.localeCompare(b.recordFormat),
      );
      expect(files).toMatchObject([
        {
          jobId: 'job-1',
          recordFormat: 'FLV',
          status: 'COMPLETE',
          downloadUrl: 'https://obs.example.com/formats/job-1.flv',
        },
        {
          jobId: 'job-1',
          recordFormat: 'HLS',
          status: 'COMPLETE',
          downloadUrl: 'https://obs.example.com/formats/job-1.hls',
        },
        {
          jobId: 'job-1',
          recordFormat: 'MP4',
          status: 'COMPLETE',
          downloadUrl: 'https://obs.example.com/formats/job-1.mp4',
        },
      ]);
    });

    it('lists transitions oldest first with fromStatus, toStatus, eventType, jobId and at', async () => {
      await sendAll(app, [
        eventBody('trans-1', 'RECORD_FILE_COMPLETE', 'job-9', 'HLS'),
        startBody('trans-1'),
        eventBody('trans-1', 'RECORD_NEW_FILE_START', 'job-10'),
        eventBody('trans-1', 'RECORD_OVER'),
        eventBody('trans-1', 'RECORD_FAILED'),
      ]);
      const items = await getTransitions(app, 'trans-1');
      expect(items).toMatchObject([
        { fromStatus: null, toStatus: 'RECORDING', eventType: 'RECORD_FILE_COMPLETE', jobId: 'job-9' },
        { fromStatus: 'RECORDING', toStatus: 'OVER', eventType: 'RECORD_OVER', jobId: null },
        { fromStatus: 'OVER', toStatus: 'FAILED', eventType: 'RECORD_FAILED', jobId: null },
      ]);
      const times = items.map((t: { at: string }) => t.at);
      for (const at of times) expect(at).toMatch(ISO_UTC);
      for (let i = 1; i < times.length; i++)
        expect(Date.parse(times[i])).toBeGreaterThanOrEqual(Date.parse(times[i - 1]));
    });
  });
});

describe.each(DATABASE_KINDS)('503 storage unavailable (%s)', (kind) => {
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

  it('answers 503 while the database is gone, keeps serving, and stores nothing for the refused callback', async () => {
    await postCallback(app, sign(startBody('outage-1'))).expect(200, /"accepted"/);
    const dataSource = app.get(DataSource);
    await dataSource.destroy();

    const over = eventBody('outage-1', 'RECORD_OVER');
    const first = await postCallback(app, sign(over)).timeout(15000);
    expect(first.status).toBe(503);
    expect(JSON.stringify(first.body)).not.toContain(KEY_A);
    // The process still answers: a second callback gets a prompt 503 too, and the guard still refuses forgeries.
    const second = await postCallback(app, sign(eventBody('outage-2', 'RECORD_START'))).timeout(15000);
    expect(second.status).toBe(503);
    const forged = await postCallback(app, { ...sign(startBody('outage-3')), auth_sign: 'ab'.repeat(32) });
    expect(forged.status).toBe(401);

    // Storage back: the callback refused with 503 is new, not a duplicate, so a retry by the sender stores it.
    await dataSource.initialize();
    const retry = await postCallback(app, sign(over)).expect(200);
    expect(retry.body).toMatchObject({ result: 'accepted' });
    expect((await getTask(app, 'outage-1')).status).toBe('OVER');
    expect((await storedCallbacks(app, 'outage-1')).map((r) => r.event_type)).toEqual(['RECORD_START', 'RECORD_OVER']);
  });
});
