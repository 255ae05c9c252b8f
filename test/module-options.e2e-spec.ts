import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import type { RecordingCallbackModuleOptions } from '../src/recording-callback';
import { KEY_A, KEY_B, sign, startBody } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { CALLBACK_PATH, TASKS_PATH, postCallback } from './support/e2e-helpers';
import { CapturingLogger } from './support/capturing-logger';
import { WIRINGS, closeApp, releaseDataSources, startApp } from './support/start-app';
import type { TrackedDataSource } from './support/start-app';

const BAD_CHAR_KEY = 'Kx7Qm2Lp9Vt4Rz8Wb3Nc6Hd1Fg5Js0Ya_x';
const SHORT_KEY = 'Short1234';

/** Invalid options, and a pattern the start-up error must match (it names the option). */
const INVALID: Array<[string, RecordingCallbackModuleOptions, RegExp]> = [
  ['a key under 32 characters', { auth: { algorithm: 'HMACSHA256', keys: [SHORT_KEY] } }, /auth\.keys\[0\]/],
  [
    'a key with a character other than letters and digits',
    { auth: { algorithm: 'MD5', keys: [BAD_CHAR_KEY] } },
    /auth\.keys\[0\]/,
  ],
  ['an invalid second key', { auth: { algorithm: 'HMACSHA256', keys: [KEY_A, SHORT_KEY] } }, /auth\.keys\[1\]/],
  ['an empty key list', { auth: { algorithm: 'HMACSHA256', keys: [] } }, /auth\.keys/],
  ['an unknown algorithm', { auth: { algorithm: 'SHA1' as never, keys: [KEY_A] } }, /auth\.algorithm/],
  [
    'an invalid key of one domain',
    {
      auth: {
        domains: {
          'good.example.com': { algorithm: 'HMACSHA256', keys: [KEY_A] },
          'bad.example.com': { algorithm: 'MD5', keys: [SHORT_KEY] },
        },
      },
    },
    /auth\.domains.*bad\.example\.com.*keys/,
  ],
  [
    'an unknown algorithm of one domain',
    { auth: { domains: { 'x.example.com': { algorithm: 'HMAC' as never, keys: [KEY_A] } } } },
    /auth\.domains.*x\.example\.com.*algorithm/,
  ],
  [
    'an invalid fallback',
    {
      auth: {
        domains: { 'x.example.com': { algorithm: 'MD5', keys: [KEY_A] } },
        fallback: { algorithm: 'MD5', keys: [] },
      },
    },
    /auth\.fallback/,
  ],
  ['an empty domain map', { auth: { domains: {} } }, /auth\.domains/],
  ['no auth at all', {} as RecordingCallbackModuleOptions, /\bauth\b/],
  [
    'a negative tolerance',
    { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] }, toleranceSeconds: -1 },
    /toleranceSeconds/,
  ],
  [
    'a fractional tolerance',
    { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] }, toleranceSeconds: 1.5 },
    /toleranceSeconds/,
  ],
  [
    'a delivery attempt count of 0',
    { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] }, delivery: { maxAttempts: 0 } },
    /delivery\.maxAttempts/,
  ],
  [
    'a clock that is not a function',
    { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] }, now: 'soon' as never },
    /\bnow\b/,
  ],
  [
    'queryGuards holding something that is not a guard',
    { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] }, queryGuards: [42 as never] },
    /queryGuards/,
  ],
  [
    'queryGuards that are not an array',
    { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] }, queryGuards: {} as never },
    /queryGuards/,
  ],
];

/** Lets query requests through only with `x-allow: yes`; resolved from the app's container with its dependency. */
@Injectable()
class AllowList {
  readonly header = 'x-allow';
}

@Injectable()
class HeaderGuard implements CanActivate {
  constructor(private readonly allow: AllowList) {}
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest().headers[this.allow.header] === 'yes';
  }
}

describe.each(DATABASE_KINDS)('module options (%s)', (kind) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await db.drop();
  });

  describe.each(WIRINGS)('%s', (wiring) => {
    it.each(INVALID)('stops start-up for %s, naming the option', async (_label, options, names) => {
      let error: unknown;
      let app: NestExpressApplication | undefined;
      const dataSources: TrackedDataSource[] = [];
      try {
        app = await startApp(db, { module: options, wiring, dataSources });
      } catch (e) {
        error = e;
      } finally {
        await closeApp(app);
        await releaseDataSources(dataSources);
      }
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      expect(message).toMatch(names);
      expect(message).not.toContain(BAD_CHAR_KEY);
    });

    it('starts with valid options (the invalid cases differ only in the option named)', async () => {
      const app = await startApp(db, { module: { auth: { algorithm: 'HMACSHA256', keys: [KEY_A, KEY_B] } }, wiring });
      await closeApp(app);
    });

    describe('route paths and query guards', () => {
      let app: NestExpressApplication;
      const callbackPath = `/hooks/${wiring}/huawei-recording`;
      const tasksPath = `/api/${wiring}/recordings`;

      beforeAll(async () => {
        app = await startApp(db, {
          module: { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] }, queryGuards: [HeaderGuard] },
          wiring,
          routes: { callbackPath, tasksPath },
          providers: [AllowList, HeaderGuard],
        });
      });
      afterAll(async () => {
        await closeApp(app);
      });

      it('serves the callback route at the configured path only', async () => {
        const res = await postCallback(app, sign(startBody(`${wiring}-path-1`)), callbackPath);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ result: 'accepted' });
        const atDefault = await postCallback(app, sign(startBody(`${wiring}-path-2`)), CALLBACK_PATH);
        expect(atDefault.status).toBe(404);
      });

      it('serves the query routes at the configured path, behind the app guards', async () => {
        const server = app.getHttpServer();
        const taskId = `${wiring}-path-1`;
        await request(server).get(`${tasksPath}/${taskId}`).set('x-allow', 'yes').expect(200);
        await request(server).get(`${tasksPath}/${taskId}/transitions`).set('x-allow', 'yes').expect(200);
        const page = await request(server).get(tasksPath).set('x-allow', 'yes').expect(200);
        expect(page.body.items.map((t: { taskId: string }) => t.taskId)).toContain(taskId);
        await request(server).get(`${TASKS_PATH}/${taskId}`).set('x-allow', 'yes').expect(404);

        for (const path of [tasksPath, `${tasksPath}/${taskId}`, `${tasksPath}/${taskId}/transitions`]) {
          const denied = await request(server).get(path);
          expect({ path, status: denied.status }).toEqual({ path, status: 403 });
          const wrong = await request(server).get(path).set('x-allow', 'no');
          expect({ path, status: wrong.status }).toEqual({ path, status: 403 });
        }
      });

      it('does not put the query guards on the callback route', async () => {
        const res = await postCallback(app, sign(startBody(`${wiring}-path-3`)), callbackPath);
        expect(res.status).toBe(200);
      });
    });

    describe('a guard instance in queryGuards', () => {
      let app: NestExpressApplication;
      const calls: string[] = [];
      const instance: CanActivate = {
        canActivate: (context: ExecutionContext) => {
          calls.push(context.switchToHttp().getRequest().url);
          return context.switchToHttp().getRequest().headers.authorization === 'Bearer e2e';
        },
      };

      beforeAll(async () => {
        app = await startApp(db, {
          module: {
            auth: { algorithm: 'HMACSHA256', keys: [KEY_A] },
            queryGuards: [instance],
          },
          wiring,
        });
      });
      afterAll(async () => {
        await closeApp(app);
      });

      it('runs it before the query routes', async () => {
        const server = app.getHttpServer();
        expect((await request(server).get(TASKS_PATH)).status).toBe(403);
        await request(server).get(TASKS_PATH).set('Authorization', 'Bearer e2e').expect(200);
        expect(calls.length).toBeGreaterThanOrEqual(2);
        expect((await postCallback(app, sign(startBody(`${wiring}-inst-1`)))).status).toBe(200);
      });
    });
  });
});

describe('start-up warnings about open routes', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(() => db.drop());

  /** The warnings the module logs at start-up with these guards. */
  async function warnings(options: Partial<RecordingCallbackModuleOptions>): Promise<string> {
    const logger = new CapturingLogger();
    const app = await startApp(db, {
      module: { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] }, ...options },
      logger,
    });
    await closeApp(app);
    return logger.text('warn');
  }
  const allowAll: CanActivate = { canActivate: () => true };

  it('warns that queries are open when queryGuards is empty, and that replay is off without operationGuards', async () => {
    const text = await warnings({});
    expect(text).toContain(
      'queryGuards is empty: task queries and the delivery list are open to anyone who can reach them',
    );
    expect(text).toContain('operationGuards is empty: delivery replay answers 403');
  });

  it('says nothing of the kind once guards are set', async () => {
    const text = await warnings({ queryGuards: [allowAll] });
    expect(text).not.toContain('queryGuards is empty');
    expect(text).not.toContain('operationGuards is empty');
  });
});

describe('start-up warning about the PostgreSQL pool', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
  });
  afterAll(() => db.drop());

  /** The warnings of the host app (ingest.concurrency 4) started with a pool of `poolSize`. */
  async function warnings(poolSize: number): Promise<string> {
    const logger = new CapturingLogger();
    const app = await startApp(db, { host: { poolSize }, logger });
    await closeApp(app);
    return logger.text('warn');
  }

  it('warns when ingest.concurrency would take the whole pool, and not when the pool is larger', async () => {
    expect(await warnings(4)).toContain('ingest.concurrency (4) is not below the pool size (4)');
    expect(await warnings(10)).not.toContain('ingest.concurrency');
  });
});
