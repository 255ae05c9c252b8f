import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { eventBody, sign, startBody } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { ISO_UTC, TASKS_PATH, postCallback } from './support/e2e-helpers';
import { closeApp, startApp } from './support/start-app';

type Body = Record<string, unknown>;
type TaskJson = { taskId: string; [k: string]: unknown };

const TASK_KEYS = [
  'taskId',
  'projectId',
  'publishDomain',
  'app',
  'stream',
  'recordFormat',
  'status',
  'errorMessage',
  'lastEventType',
  'lastEventAt',
  'createdAt',
  'updatedAt',
  'files',
];
const FILE_KEYS = [
  'jobId',
  'recordFormat',
  'status',
  'downloadUrl',
  'assetId',
  'fileSize',
  'recordDuration',
  'startTime',
  'endTime',
  'width',
  'height',
];
const CAMEL = /^[a-z][a-zA-Z0-9]*$/;

async function send(app: NestExpressApplication, body: Body): Promise<void> {
  const res = await postCallback(app, sign(body));
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { result: 'accepted' } });
}

function list(app: NestExpressApplication, query: Record<string, string | number>) {
  return request(app.getHttpServer()).get(TASKS_PATH).query(query);
}

const ids = (items: TaskJson[]) => items.map((t) => t.taskId).sort();

/**
 * Pages through `GET /recording-tasks` with `query`, calling `between(page)` after each page, and returns
 * every task id in the order served.
 */
async function pageThrough(
  app: NestExpressApplication,
  query: Record<string, string | number>,
  between: (page: number) => Promise<void> = async () => undefined,
): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const res: request.Response = await list(app, cursor ? { ...query, cursor } : query).expect(200);
    expect(res.body.items.length).toBeLessThanOrEqual(Number(query.limit ?? 20));
    seen.push(...res.body.items.map((t: TaskJson) => t.taskId));
    cursor = res.body.nextCursor;
    if (cursor === null) return seen;
    expect(typeof cursor).toBe('string');
    await between(page);
  }
  throw new Error('pagination did not end');
}

describe.each(DATABASE_KINDS)('task queries (%s)', (kind) => {
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

  describe('GET /recording-tasks/:taskId', () => {
    it('answers 404 for an unknown task', async () => {
      const res = await request(app.getHttpServer()).get(`${TASKS_PATH}/no-such-task`);
      expect(res.status).toBe(404);
    });

    it('answers 200 with the task in camelCase, times as ISO-8601 UTC', async () => {
      const before = Date.now();
      await send(app, startBody('shape-1'));
      await send(
        app,
        eventBody('shape-1', 'RECORD_FILE_COMPLETE', 'job-1', 'MP4', {
          start_time: '2021-06-01T08:00:00Z',
          end_time: '2021-06-01T08:30:00Z',
        }),
      );
      const after = Date.now();
      const res = await request(app.getHttpServer()).get(`${TASKS_PATH}/shape-1`).expect(200);
      const task = res.body;
      for (const key of TASK_KEYS) expect(Object.keys(task)).toContain(key);
      for (const key of Object.keys(task)) expect(key).toMatch(CAMEL);
      expect(task).toMatchObject({
        taskId: 'shape-1',
        projectId: 'proj-1',
        publishDomain: 'push.example.com',
        app: 'live',
        stream: 'stream-shape-1',
        recordFormat: 'HLS',
        status: 'RECORDING',
        errorMessage: null,
        lastEventType: 'RECORD_FILE_COMPLETE',
      });
      for (const key of ['createdAt', 'updatedAt', 'lastEventAt']) {
        expect(task[key]).toMatch(ISO_UTC);
        expect(Date.parse(task[key])).toBeGreaterThanOrEqual(before - 1000);
        expect(Date.parse(task[key])).toBeLessThanOrEqual(after + 1000);
      }
      expect(Date.parse(task.updatedAt)).toBeGreaterThanOrEqual(Date.parse(task.createdAt));

      expect(task.files).toHaveLength(1);
      const [file] = task.files;
      for (const key of FILE_KEYS) expect(Object.keys(file)).toContain(key);
      for (const key of Object.keys(file)) expect(key).toMatch(CAMEL);
      expect(file).toMatchObject({
        jobId: 'job-1',
        recordFormat: 'MP4',
        status: 'COMPLETE',
        downloadUrl: 'https://obs.example.com/shape-1/job-1.mp4',
        assetId: 'asset-job-1',
        fileSize: 3957964,
        recordDuration: 120,
        width: 1280,
        height: 720,
      });
      expect(file.startTime).toMatch(ISO_UTC);
      expect(file.endTime).toMatch(ISO_UTC);
      expect(Date.parse(file.startTime)).toBe(Date.parse('2021-06-01T08:00:00Z'));
      expect(Date.parse(file.endTime)).toBe(Date.parse('2021-06-01T08:30:00Z'));
    });

    it('shows a file that only started with null details', async () => {
      await send(app, eventBody('shape-2', 'RECORD_NEW_FILE_START', 'job-7', 'FLV'));
      const task = (await request(app.getHttpServer()).get(`${TASKS_PATH}/shape-2`).expect(200)).body;
      expect(task.files).toEqual([
        expect.objectContaining({
          jobId: 'job-7',
          recordFormat: 'FLV',
          status: 'RECORDING',
          downloadUrl: null,
          startTime: null,
          endTime: null,
        }),
      ]);
    });
  });

  describe('GET /recording-tasks filters', () => {
    beforeAll(async () => {
      const d1 = { publish_domain: 'filter-a.example.com' };
      await send(app, startBody('f-1', { ...d1, app: 'live', stream: 's1' }));
      await send(app, startBody('f-2', { ...d1, app: 'live', stream: 's2' }));
      await send(app, eventBody('f-2', 'RECORD_OVER', undefined, 'HLS', { ...d1, app: 'live', stream: 's2' }));
      await send(app, startBody('f-3', { ...d1, app: 'vod', stream: 's1' }));
      await send(app, eventBody('f-3', 'RECORD_FAILED', undefined, 'HLS', { ...d1, app: 'vod', stream: 's1' }));
      await send(app, startBody('f-4', { publish_domain: 'filter-b.example.com', app: 'live', stream: 's1' }));
    });

    it.each([
      [{ publishDomain: 'filter-a.example.com' }, ['f-1', 'f-2', 'f-3']],
      [{ publishDomain: 'filter-a.example.com', app: 'live' }, ['f-1', 'f-2']],
      [{ publishDomain: 'filter-a.example.com', stream: 's1' }, ['f-1', 'f-3']],
      [{ publishDomain: 'filter-a.example.com', status: 'OVER' }, ['f-2']],
      [{ publishDomain: 'filter-a.example.com', status: 'FAILED' }, ['f-3']],
      [{ publishDomain: 'filter-a.example.com', status: 'RECORDING' }, ['f-1']],
      [{ publishDomain: 'filter-b.example.com' }, ['f-4']],
      [{ publishDomain: 'filter-a.example.com', app: 'live', stream: 's1', status: 'RECORDING' }, ['f-1']],
      [{ publishDomain: 'filter-c.example.com' }, []],
    ])('filters %j', async (query, expected) => {
      const res = await list(app, query).expect(200);
      expect(ids(res.body.items)).toEqual(expected);
      expect(res.body.nextCursor).toBeNull();
    });

    it('filters by app and stream across domains', async () => {
      const res = await list(app, { app: 'live', stream: 's1' }).expect(200);
      expect(ids(res.body.items)).toEqual(['f-1', 'f-4']);
    });

    it('lists full task objects with their files', async () => {
      const res = await list(app, { publishDomain: 'filter-a.example.com', status: 'OVER' }).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
      const [task] = res.body.items;
      for (const key of TASK_KEYS) expect(Object.keys(task)).toContain(key);
      expect(task).toMatchObject({ taskId: 'f-2', status: 'OVER', app: 'live', stream: 's2', files: [] });
      expect(task.createdAt).toMatch(ISO_UTC);
    });
  });

  describe('GET /recording-tasks parameters', () => {
    it.each([
      ['limit=0', { limit: 0 }],
      ['limit=101', { limit: 101 }],
      ['limit=-1', { limit: -1 }],
      ['limit=abc', { limit: 'abc' }],
      ['limit=1.5', { limit: '1.5' }],
      ['an unknown parameter', { colour: 'blue' }],
      ['a snake_case parameter', { publish_domain: 'push.example.com' }],
      ['an unknown status', { status: 'PAUSED' }],
    ])('answers 400 for %s', async (_label, query) => {
      const res = await list(app, query as Record<string, string | number>);
      expect(res.status).toBe(400);
    });

    it.each([
      ['app given twice', '?app=a&app=b'],
      ['limit given twice', '?limit=1&limit=2'],
      ['a nested parameter', '?status[x]=OVER'],
    ])('answers 400 for %s', async (_label, search) => {
      const res = await request(app.getHttpServer()).get(`${TASKS_PATH}${search}`);
      expect(res.status).toBe(400);
    });

    it('answers 400 naming the parameter, never a server error, for a filter with a NUL character', async () => {
      for (const name of ['app', 'stream', 'publishDomain']) {
        const res = await request(app.getHttpServer()).get(`${TASKS_PATH}?${name}=a%00b`);
        expect({ name, status: res.status }).toEqual({ name, status: 400 });
        expect(Object.keys(res.body.fields)).toEqual([name]);
      }
    });

    it('answers 400 for a cursor naming an impossible task id, never a server error', async () => {
      const cursor = Buffer.from(JSON.stringify(['2025-01-01T00:00:00.000Z', 'a\u0000b'])).toString('base64url');
      const res = await list(app, { cursor });
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual({ cursor: ['cursor is not valid'] });
    });

    it('answers 404 for an unknown task id with a NUL character', async () => {
      const res = await request(app.getHttpServer()).get(`${TASKS_PATH}/a%00b`);
      expect(res.status).toBe(404);
      const transitions = await request(app.getHttpServer()).get(`${TASKS_PATH}/a%00b/transitions`);
      expect(`${transitions.status} ${transitions.text}`).toMatch(/^404 /);
    });

    it('serves a task whose id needs URL encoding', async () => {
      await send(app, startBody('enc/oded id%'));
      const path = `${TASKS_PATH}/${encodeURIComponent('enc/oded id%')}`;
      expect((await request(app.getHttpServer()).get(path).expect(200)).body.taskId).toBe('enc/oded id%');
      expect((await request(app.getHttpServer()).get(`${path}/transitions`).expect(200)).body.items).toHaveLength(1);
    });

    it('answers 404, not an error, for a very long unknown task id', async () => {
      const res = await request(app.getHttpServer()).get(`${TASKS_PATH}/${'x'.repeat(600)}`);
      expect(res.status).toBe(404);
    });

    it.each([
      ['garbage', 'not-a-cursor!!'],
      ['base64 of an object', Buffer.from('{"a":1}').toString('base64url')],
      ['base64 of a bad date', Buffer.from('["yesterday","t1"]').toString('base64url')],
      ['base64 of a number', Buffer.from('42').toString('base64url')],
    ])('answers 400 for a bad cursor (%s)', async (_label, cursor) => {
      const res = await list(app, { cursor });
      expect(res.status).toBe(400);
    });

    it('accepts limit 1 and 100, and defaults to 20', async () => {
      const domain = 'many.example.com';
      for (let i = 0; i < 23; i++) {
        await send(app, startBody(`many-${String(i).padStart(2, '0')}`, { publish_domain: domain }));
      }
      const one = await list(app, { publishDomain: domain, limit: 1 }).expect(200);
      expect(one.body.items).toHaveLength(1);
      expect(typeof one.body.nextCursor).toBe('string');

      const all = await list(app, { publishDomain: domain, limit: 100 }).expect(200);
      expect(all.body.items).toHaveLength(23);
      expect(all.body.nextCursor).toBeNull();

      const byDefault = await list(app, { publishDomain: domain }).expect(200);
      expect(byDefault.body.items).toHaveLength(20);
      expect(typeof byDefault.body.nextCursor).toBe('string');
      const rest = await list(app, { publishDomain: domain, cursor: byDefault.body.nextCursor }).expect(200);
      expect(rest.body.items).toHaveLength(3);
      expect(rest.body.nextCursor).toBeNull();
      expect(new Set([...ids(byDefault.body.items), ...ids(rest.body.items)]).size).toBe(23);
    });
  });

  describe('keyset pagination', () => {
    it('never repeats or skips a task while new tasks arrive and listed tasks change', async () => {
      const domain = 'paging.example.com';
      const original: string[] = [];
      for (let i = 0; i < 14; i++) {
        const taskId = `page-${String(i).padStart(2, '0')}`;
        original.push(taskId);
        await send(app, startBody(taskId, { publish_domain: domain }));
      }
      let added = 0;
      const seen = await pageThrough(app, { publishDomain: domain, limit: 4 }, async (page) => {
        // New tasks arrive between page fetches, and existing tasks (seen or not yet) get new events.
        for (let i = 0; i < 3; i++)
          await send(app, startBody(`page-new-${page}-${added++}`, { publish_domain: domain }));
        await send(app, eventBody(original[page], 'RECORD_OVER', undefined, 'HLS', { publish_domain: domain }));
        await send(app, eventBody(original[13 - page], 'RECORD_FAILED', undefined, 'HLS', { publish_domain: domain }));
      });
      expect(added).toBeGreaterThan(0);
      expect(new Set(seen).size).toBe(seen.length);
      for (const taskId of original) expect(seen).toContain(taskId);
    });

    it('pages through a status filter without repeats or skips', async () => {
      const domain = 'paging-status.example.com';
      const original: string[] = [];
      for (let i = 0; i < 9; i++) {
        const taskId = `pstat-${i}`;
        original.push(taskId);
        await send(app, startBody(taskId, { publish_domain: domain }));
        await send(app, eventBody(taskId, 'RECORD_OVER', undefined, 'HLS', { publish_domain: domain }));
      }
      const seen = await pageThrough(app, { publishDomain: domain, status: 'OVER', limit: 2 }, async (page) => {
        await send(app, startBody(`pstat-new-${page}`, { publish_domain: domain }));
        await send(app, eventBody(`pstat-new-${page}`, 'RECORD_OVER', undefined, 'HLS', { publish_domain: domain }));
      });
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((t) => original.includes(t)).sort()).toEqual(original);
    });
  });
});

describe.each(DATABASE_KINDS)('keyset pagination with identical creation times (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;
  const frozen = Date.parse('2025-01-01T00:00:00.000Z');

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    // A frozen clock gives every task the same createdAt, so the order rests on the tie-breaker alone.
    app = await startApp(db, { module: { auth: 'none', now: () => frozen }, wiring: 'forRootAsync' });
  });
  afterAll(async () => {
    await closeApp(app);
    await db.drop();
  });

  it('never repeats or skips a task', async () => {
    const original: string[] = [];
    for (let i = 0; i < 11; i++) {
      const taskId = `tie-${String.fromCharCode(97 + ((i * 7) % 11))}-${i}`;
      original.push(taskId);
      await send(app, startBody(taskId));
    }
    const seen = await pageThrough(app, { limit: 3 }, async (page) => {
      await send(app, startBody(`tie-0-new-${page}`));
      await send(app, startBody(`tie-z-new-${page}`));
    });
    expect(new Set(seen).size).toBe(seen.length);
    for (const taskId of original) expect(seen).toContain(taskId);
  });
});

describe.each(DATABASE_KINDS)('query token of the host app (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;
  const token = 'query-token-for-e2e-0123456789';

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startApp(db, { host: { queryToken: token } });
    await send(app, startBody('tok-1'));
  });
  afterAll(async () => {
    await closeApp(app);
    await db.drop();
  });

  it.each([`${TASKS_PATH}`, `${TASKS_PATH}/tok-1`, `${TASKS_PATH}/tok-1/transitions`, `${TASKS_PATH}/unknown`])(
    'answers 401 on GET %s without or with a wrong bearer token',
    async (path) => {
      const none = await request(app.getHttpServer()).get(path);
      expect(none.status).toBe(401);
      const wrong = await request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}x`);
      expect(wrong.status).toBe(401);
      const notBearer = await request(app.getHttpServer()).get(path).set('Authorization', token);
      expect(notBearer.status).toBe(401);
      expect(JSON.stringify(none.body)).not.toContain(token);
    },
  );

  it('serves the routes with the right bearer token', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const server = app.getHttpServer();
    expect((await request(server).get(`${TASKS_PATH}/tok-1`).set(auth).expect(200)).body.taskId).toBe('tok-1');
    expect(
      (await request(server).get(TASKS_PATH).set(auth).expect(200)).body.items.map((t: TaskJson) => t.taskId),
    ).toContain('tok-1');
    expect(
      (await request(server).get(`${TASKS_PATH}/tok-1/transitions`).set(auth).expect(200)).body.items,
    ).toHaveLength(1);
    await request(server).get(`${TASKS_PATH}/unknown`).set(auth).expect(404);
  });

  it('does not ask callbacks for the query token', async () => {
    const res = await postCallback(app, sign(startBody('tok-2')));
    expect(res.status).toBe(200);
  });
});
