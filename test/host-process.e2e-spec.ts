// The real host app (src/main.ts, compiled as it is now) started as a process with real environment
// variables: what the environment parsing promises, seen from outside.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { KEY_A, KEY_B, eventually, sign, startBody } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { runToExit, spawnHost } from './support/child-host';
import { freePort } from './support/own-postgres';
import type { ChildHost } from './support/child-host';
import { transpileForNode } from './support/transpile-for-node';
import type { NodeBuild } from './support/transpile-for-node';

/** A third key in the valid format that the host is not given. */
const KEY_C = 'Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp';
const HOST = 'src/main.ts';

let build: NodeBuild;
beforeAll(() => {
  build = transpileForNode([]);
});
afterAll(() => build?.remove());

/** A parsed JSON answer, read field by field as the tests need. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function post(host: ChildHost, body: Record<string, unknown>): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${host.url}/recording-callbacks`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('host app process: environment', () => {
  let db: TestDatabase;
  let host: ChildHost | undefined;
  let n = 0;
  const task = () => `env-${process.pid}-${++n}`;
  const now = () => Math.floor(Date.now() / 1000);

  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await host?.kill('SIGTERM');
    host = undefined;
    await db.drop();
  });

  it('RECORDING_CALLBACK_KEYS: accepts every comma-separated key (spaces trimmed), and no other', async () => {
    host = await spawnHost('host', build.js(HOST), {
      SQLITE_PATH: db.sqlitePath,
      PORT: '0',
      RECORDING_CALLBACK_KEYS: ` ${KEY_A} ,${KEY_B}`,
    });
    expect((await post(host, sign(startBody(task()), { key: KEY_A }))).body).toEqual({
      result: 'accepted',
      callbackId: expect.any(Number),
    });
    expect((await post(host, sign(startBody(task()), { key: KEY_B }))).status).toBe(200);
    const other = await post(host, sign(startBody(task()), { key: KEY_C }));
    expect({ status: other.status, reason: other.body.reason }).toEqual({ status: 401, reason: 'bad_signature' });
    // The default window is 300 s: a signature from two minutes ago still passes.
    expect((await post(host, sign(startBody(task()), { key: KEY_A, timestamp: now() - 120 }))).status).toBe(200);
  });

  it('RECORDING_CALLBACK_ALGORITHM=md5 switches every key to MD5 signatures', async () => {
    host = await spawnHost('host', build.js(HOST), {
      SQLITE_PATH: db.sqlitePath,
      PORT: '0',
      RECORDING_CALLBACK_KEYS: KEY_A,
      RECORDING_CALLBACK_ALGORITHM: 'md5',
    });
    expect((await post(host, sign(startBody(task()), { algorithm: 'MD5' }))).status).toBe(200);
    const hmac = await post(host, sign(startBody(task()), { algorithm: 'HMACSHA256' }));
    expect({ status: hmac.status, reason: hmac.body.reason }).toEqual({ status: 401, reason: 'bad_signature' });
  });

  it('RECORDING_CALLBACK_TOLERANCE_SECONDS narrows the accepted window', async () => {
    host = await spawnHost('host', build.js(HOST), {
      SQLITE_PATH: db.sqlitePath,
      PORT: '0',
      RECORDING_CALLBACK_KEYS: KEY_A,
      RECORDING_CALLBACK_TOLERANCE_SECONDS: '30',
    });
    const old = await post(host, sign(startBody(task()), { timestamp: now() - 120 }));
    expect({ status: old.status, reason: old.body.reason }).toEqual({ status: 401, reason: 'expired' });
    expect((await post(host, sign(startBody(task()), { timestamp: now() - 5 }))).status).toBe(200);
  });

  it('PORT: listens on the port given', async () => {
    const port = await freePort();
    host = await spawnHost('host', build.js(HOST), {
      SQLITE_PATH: db.sqlitePath,
      PORT: String(port),
      RECORDING_CALLBACK_KEYS: KEY_A,
    });
    expect(host.port).toBe(port);
    expect((await post(host, sign(startBody(task())))).status).toBe(200);
  });

  it('DATABASE_POOL_SIZE that is not a whole number stops the start with a message naming it', async () => {
    const run = await runToExit(build.js(HOST), {
      SQLITE_PATH: db.sqlitePath,
      RECORDING_CALLBACK_KEYS: KEY_A,
      DATABASE_POOL_SIZE: 'many',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('DATABASE_POOL_SIZE must be a whole number >= 1, got "many"');
  });

  it('without keys: creates a development key beside the SQLite file, prints it, accepts it, and reuses it after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rc-devkey-'));
    try {
      const env = { SQLITE_PATH: join(dir, 'recordings.sqlite'), PORT: '0' };
      const file = join(dir, 'dev-callback-key');
      expect(existsSync(file)).toBe(false);
      host = await spawnHost('host', build.js(HOST), env);
      const key = readFileSync(file, 'utf8').trim();
      expect(key).toMatch(/^[A-Za-z0-9]{40}$/);
      expect(host.stdout()).toContain(`  ${key}\n`);
      expect((await post(host, sign(startBody(task()), { key }))).status).toBe(200);
      expect((await post(host, sign(startBody(task()), { key: KEY_A }))).status).toBe(401);
      // A graceful stop: exit code 0 after the shutdown hooks, as a process manager expects.
      expect(await host.kill('SIGTERM')).toBe(0);

      host = await spawnHost('host', build.js(HOST), env);
      expect(readFileSync(file, 'utf8').trim()).toBe(key);
      expect((await post(host, sign(startBody(task()), { key }))).status).toBe(200);
    } finally {
      await host?.kill('SIGTERM');
      host = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('RECORDING_QUERY_TOKEN guards the task queries and the delivery list over HTTP', async () => {
    host = await spawnHost('host', build.js(HOST), {
      SQLITE_PATH: db.sqlitePath,
      PORT: '0',
      RECORDING_CALLBACK_KEYS: KEY_A,
      RECORDING_QUERY_TOKEN: 'list-secret',
    });
    const id = task();
    expect((await post(host, sign(startBody(id)))).status).toBe(200);
    for (const path of [`/recording-tasks/${id}`, '/recording-tasks', '/recording-callbacks/deliveries']) {
      const get = (headers: Record<string, string>) => fetch(`${host!.url}${path}`, { headers });
      expect({ path, status: (await get({})).status }).toEqual({ path, status: 401 });
      expect({ path, status: (await get({ Authorization: 'Bearer wrong' })).status }).toEqual({ path, status: 401 });
      expect({ path, status: (await get({ Authorization: 'Bearer list-secret' })).status }).toEqual({
        path,
        status: 200,
      });
    }
  });

  it('RECORDING_HEALTH_* reach /health, which stays 200 while degraded', async () => {
    host = await spawnHost('host', build.js(HOST), {
      SQLITE_PATH: db.sqlitePath,
      PORT: '0',
      RECORDING_CALLBACK_KEYS: KEY_A,
      RECORDING_HEALTH_MAX_BACKLOG: '7',
      RECORDING_HEALTH_MAX_DEAD_LETTERS: '3',
      RECORDING_HEALTH_MAX_SILENCE_SECONDS: '1',
    });
    expect((await post(host, sign(startBody(task())))).status).toBe(200);
    const health = async () => {
      const res = await fetch(`${host!.url}/health`);
      return { status: res.status, body: (await res.json()) as Json };
    };
    const first = await health();
    expect(first.body.details.recording_deliveries).toMatchObject({ maxBacklog: 7, maxDeadLetters: 3 });
    expect(first.body.details.recording_callbacks.maxSilenceSeconds).toBe(1);
    // Silent for longer than a second: degraded, yet still 200 (a load balancer must keep the instance).
    let last = first;
    await eventually(async () => {
      last = await health();
      return last.body.details.recording_callbacks.status === 'degraded';
    }, 10_000);
    expect(last.status).toBe(200);
    expect(last.body.details.recording_callbacks.message).toBe('no callback for over 1 s');
  });
});

describe('host app process: DATABASE_POOL_SIZE on PostgreSQL', () => {
  let db: TestDatabase;
  let host: ChildHost | undefined;
  afterEach(async () => {
    await host?.kill('SIGTERM');
    await db?.drop();
  });

  /**
   * Connections the host holds while eight task queries wait on a table lock: each query holds a pooled
   * connection until the lock goes, so the pool's bound, and only that, limits how many are open (a
   * burst of callbacks would not do: group commit may take it in one transaction on one connection).
   */
  async function connectionsUnderLock(poolSize: string | undefined, atLeast: number): Promise<number> {
    db = await createTestDatabase('postgres');
    host = await spawnHost('host', build.js(HOST), {
      DATABASE_URL: db.databaseUrl!,
      PORT: '0',
      RECORDING_CALLBACK_KEYS: KEY_A,
      ...(poolSize ? { DATABASE_POOL_SIZE: poolSize } : {}),
    });
    const h = host;
    const locker = new Client({ connectionString: db.databaseUrl });
    await locker.connect();
    // Counted from outside the locking transaction, which would see one cached snapshot of the statistics.
    const admin = new Client({ connectionString: process.env.E2E_POSTGRES_ADMIN_URL });
    await admin.connect();
    const name = new URL(db.databaseUrl!).pathname.slice(1);
    const [{ pid: lockerPid }] = (await locker.query('SELECT pg_backend_pid() AS pid')).rows;
    const opened = async () => {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> $2`,
        [name, lockerPid],
      );
      return rows[0].n as number;
    };
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE recording_tasks IN ACCESS EXCLUSIVE MODE');
    let queries: Promise<unknown>[] = [];
    try {
      queries = Array.from({ length: 8 }, () => fetch(`${h.url}/recording-tasks?limit=1`).then((r) => r.text()));
      await eventually(async () => (await opened()) >= atLeast, 20_000);
      // Time for connections beyond the bound to show up, were the pool not bounded.
      await new Promise((r) => setTimeout(r, 500));
      return await opened();
    } finally {
      await locker.query('ROLLBACK');
      await Promise.allSettled(queries);
      await locker.end();
      await admin.end();
      await host.kill('SIGTERM');
      host = undefined;
    }
  }

  it('bounds the connections the host opens', async () => {
    expect(await connectionsUnderLock('2', 2)).toBeLessThanOrEqual(2);
  });

  it('without it, the same queries open more than two (so the bound above is the variable at work)', async () => {
    expect(await connectionsUnderLock(undefined, 3)).toBeGreaterThan(2);
  });
});
