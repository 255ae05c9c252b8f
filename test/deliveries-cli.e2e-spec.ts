import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { RecordingEvents } from '../src/recording-callback';
import type { RecordingCallbackEvent } from '../src/recording-callback';
import { KEY_A, eventBody, eventually, sign, startBody } from './support/callbacks';
import { databaseEnv, openDatabase } from './support/child-host';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { CALLBACK_PATH } from './support/e2e-helpers';
import { startApp } from './support/start-app';
import { REPO_ROOT, transpileForNode } from './support/transpile-for-node';
import type { NodeBuild } from './support/transpile-for-node';

const CLI = 'scripts/deliveries.ts';

/** Whether the test app's handlers fail, and what they saw. */
class Switch {
  broken = true;
  seen: Array<{ handler: string; callbackId: number }> = [];
}
const SWITCH = Symbol('SWITCH');

@Injectable()
class FragileHandler {
  constructor(@Inject(SWITCH) private readonly s: Switch) {}
  @OnEvent([RecordingEvents.Start, RecordingEvents.Over])
  handle(e: RecordingCallbackEvent): void {
    this.s.seen.push({ handler: 'fragile', callbackId: e.callbackId });
    if (this.s.broken) throw new Error(`fragile handler is down (callback ${e.callbackId})`);
  }
}

@Injectable()
class SturdyHandler {
  constructor(@Inject(SWITCH) private readonly s: Switch) {}
  @OnEvent([RecordingEvents.Start, RecordingEvents.Over])
  handle(e: RecordingCallbackEvent): void {
    this.s.seen.push({ handler: 'sturdy', callbackId: e.callbackId });
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let build: NodeBuild;
beforeAll(() => {
  build = transpileForNode([CLI]);
});
afterAll(() => build?.remove());

/** Runs the CLI as a child process with the given database environment. */
function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [build.js(CLI), ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface RowView {
  id: number;
  callbackId: number | null;
  status: string;
  attempts: number;
  nextAttemptAt: number;
  succeeded: string[];
}

async function rows(ds: DataSource): Promise<RowView[]> {
  const raw: Array<Record<string, unknown>> = await ds.query(
    'SELECT id, callback_id, status, attempts, next_attempt_at, succeeded_handlers FROM recording_deliveries ORDER BY id',
  );
  return raw.map((r) => ({
    id: Number(r.id),
    callbackId: r.callback_id === null ? null : Number(r.callback_id),
    status: String(r.status),
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    succeeded: (typeof r.succeeded_handlers === 'string'
      ? JSON.parse(r.succeeded_handlers)
      : r.succeeded_handlers) as string[],
  }));
}

describe('deliveries CLI arguments', () => {
  const env = { SQLITE_PATH: join(REPO_ROOT, 'node_modules', '.cache', 'no-such-folder', 'nothing.sqlite') };
  const usage: Array<[string[], RegExp]> = [
    [[], /no command given/],
    [['purge'], /unknown command "purge"/],
    [['list', '--status', 'bogus'], /--status must be one of pending, failed, delivered, dead, got "bogus"/],
    [['list', '--limit', '0'], /--limit must be a whole number from 1 to 1000/],
    [['list', '--limit'], /--limit needs a value/],
    [['list', '--id', '3'], /list does not take --id/],
    [['list', 'dead'], /unexpected argument "dead"/],
    [['replay'], /replay needs exactly one of --id N or --status S/],
    [['replay', '--id', '3', '--status', 'dead'], /replay needs exactly one of --id N or --status S/],
    [['replay', '--id', 'abc'], /--id must be a delivery id/],
    [['replay', '--id', '3', '--task', 't1'], /cannot be combined with --id/],
    [['replay', '--status', 'pending'], /already waiting/],
    [['replay', '--status', 'delivered'], /add --task ID, or use --id N/],
    [['replay', '--status', 'dead', '--json'], /replay does not take --json/],
    [['replay', '--status', 'dead', '--since', 'yesterday'], /--since must be an ISO-8601 time/],
    [['replay', '--id', '3', '--since', '2026-12-01T00:00:00Z'], /cannot be combined with --id/],
    [['list', '--status', 'dead', '--status', 'failed'], /--status given twice/],
  ];
  it.each(usage)('%j is refused with exit code 2 and the usage text', async (args, message) => {
    const run = await cli(args, env);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 2, stdout: '' });
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('Usage: npm run deliveries -- <command> [options]');
  });

  it('help prints the usage text and exits 0', async () => {
    const run = await cli(['help'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('replay   Make deliveries due again');
  });

  it('a missing SQLite file is a clear failure (exit 1), not a new empty database', async () => {
    const run = await cli(['list'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no SQLite database at ${env.SQLITE_PATH}`);
  });
});

describe.each(DATABASE_KINDS)('deliveries CLI on %s', (kind) => {
  let db: TestDatabase;
  let ds: DataSource;
  let app: NestExpressApplication | undefined;
  let sw: Switch;
  const task = `${kind}-cli`;
  const other = `${kind}-cli-other`;
  let ids: Record<string, number>;

  async function start(): Promise<NestExpressApplication> {
    return startApp(db, {
      module: {
        auth: { algorithm: 'HMACSHA256', keys: [KEY_A] },
        delivery: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, pollIntervalMs: 20 },
        watchdog: { checkIntervalMs: 0 },
      },
      providers: [{ provide: SWITCH, useValue: sw }, FragileHandler, SturdyHandler],
    });
  }

  // Every test starts from its own database: two dead deliveries of `task`, one dead of `other`, and one
  // delivered of `other` (its callback ids in `ids`), with the app stopped so that nothing runs them.
  beforeEach(async () => {
    sw = new Switch();
    ids = {};
    db = await createTestDatabase(kind);
    app = await start();
    const post = async (body: Record<string, unknown>) => {
      const res = await request(app!.getHttpServer()).post(CALLBACK_PATH).send(sign(body));
      expect(res.status).toBe(200);
      return res.body.callbackId as number;
    };
    ids.deadStart = await post(startBody(task));
    ids.deadOver = await post(eventBody(task, 'RECORD_OVER'));
    ids.otherStart = await post(startBody(other));
    ds = await openDatabase(db);
    await eventually(async () => (await rows(ds)).every((r) => r.status === 'dead'), 10_000);
    sw.broken = false;
    ids.delivered = await post(eventBody(other, 'RECORD_OVER'));
    await eventually(
      async () => (await rows(ds)).some((r) => r.callbackId === ids.delivered && r.status === 'delivered'),
      10_000,
    );
    await app.close();
    app = undefined;
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await ds?.destroy();
    await db?.drop();
  });

  it('lists deliveries as a table and as JSON, with filters', async () => {
    const table = await cli(['list', '--limit', '3'], databaseEnv(db));
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+CALLBACK\s+TASK\s+EVENT\s+STATUS\s+ATTEMPTS\s+NEXT ATTEMPT\s+LAST ERROR$/);
    expect(lines).toHaveLength(5);
    // Newest first: the ids the database gave, read back from it rather than assumed.
    const newest = (await rows(ds)).map((r) => r.id).sort((a, b) => b - a);
    const deliveredId = (await rows(ds)).find((r) => r.callbackId === ids.delivered)!.id;
    expect(deliveredId).toBe(newest[0]);
    expect(lines[1]).toMatch(
      new RegExp(`^${deliveredId}\\s+${ids.delivered}\\s+${other}\\s+RECORD_OVER\\s+delivered\\s+1\\s+-$`),
    );
    expect(lines.slice(2, 4).map((l) => Number(l.split(/\s+/)[0]))).toEqual(newest.slice(1, 3));
    expect(lines[4]).toBe('(first 3; use --limit to see more)');
    expect(table.stdout).toContain('fragile handler is down');

    const dead = await cli(['list', '--status=dead', '--task', task, '--json'], databaseEnv(db));
    expect(dead.code).toBe(0);
    const items = JSON.parse(dead.stdout) as Array<Record<string, unknown>>;
    expect(items.map((i) => [i.callbackId, i.taskId, i.status, i.attempts, i.nextAttemptAt])).toEqual([
      [ids.deadOver, task, 'dead', 2, null],
      [ids.deadStart, task, 'dead', 2, null],
    ]);
    expect(items[0].lastError).toContain('FragileHandler.handle@recording.over: fragile handler is down');
    expect(items[0].succeededHandlers).toEqual(['SturdyHandler.handle@recording.over']);

    const none = await cli(['list', '--status', 'failed'], databaseEnv(db));
    expect({ code: none.code, out: none.stdout }).toEqual({ code: 0, out: 'no deliveries matched\n' });
  });

  it("replay --status dead --task makes that task's dead deliveries pending, keeping handlers that succeeded", async () => {
    const byCallbackBefore = new Map((await rows(ds)).map((r) => [r.callbackId, r.id]));
    const deliveryOf = (callbackId: number) => byCallbackBefore.get(callbackId)!;
    const before = Date.now();
    const run = await cli(['replay', '--status', 'dead', '--task', task], databaseEnv(db));
    const after = Date.now();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^replayed 2 deliveries \\(now pending, due \\d{4}-.*Z\\):\\n {2}${deliveryOf(ids.deadStart)} {2}RECORD_START {2}task .*\\n {2}${deliveryOf(ids.deadOver)} {2}RECORD_OVER {2}task `,
      ),
    );
    const byCallback = new Map((await rows(ds)).map((r) => [r.callbackId, r]));
    for (const id of [ids.deadStart, ids.deadOver]) {
      const row = byCallback.get(id)!;
      expect({ id, status: row.status, attempts: row.attempts }).toEqual({ id, status: 'pending', attempts: 0 });
      expect(row.nextAttemptAt).toBeGreaterThanOrEqual(before - 5);
      expect(row.nextAttemptAt).toBeLessThanOrEqual(after + 5);
      expect(row.succeeded.length).toBe(1);
      expect(row.succeeded[0]).toMatch(/^SturdyHandler\.handle@recording\./);
    }
    // The other task's dead delivery is untouched.
    expect(byCallback.get(ids.otherStart)).toMatchObject({ status: 'dead', attempts: 2 });

    const again = await cli(['replay', '--status', 'dead', '--task', task], databaseEnv(db));
    expect({ code: again.code, out: again.stdout }).toEqual({
      code: 0,
      out: `no dead deliveries of task ${task}: nothing replayed\n`,
    });
  });

  it('replay --id of a delivered delivery hands it to every handler again; an unknown id fails with exit 1', async () => {
    const delivered = (await rows(ds)).find((r) => r.callbackId === ids.delivered)!;
    expect(delivered.succeeded.length).toBe(2);
    const run = await cli(['replay', '--id', String(delivered.id)], databaseEnv(db));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`replayed 1 delivery`);
    expect((await rows(ds)).find((r) => r.id === delivered.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      succeeded: [],
    });

    const missing = await cli(['replay', '--id', '999999'], databaseEnv(db));
    expect({ code: missing.code, stdout: missing.stdout, stderr: missing.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: 'deliveries: no delivery 999999\n',
    });
  });

  it('the app delivers replayed rows when it starts, and picks up rows replayed while it runs', async () => {
    // Replayed while the app is stopped: the task's dead deliveries, and the delivered one.
    expect((await cli(['replay', '--status', 'dead', '--task', task], databaseEnv(db))).code).toBe(0);
    const delivered = (await rows(ds)).find((r) => r.callbackId === ids.delivered)!;
    expect((await cli(['replay', '--id', String(delivered.id)], databaseEnv(db))).code).toBe(0);
    expect((await rows(ds)).filter((r) => r.status === 'pending').map((r) => r.callbackId)).toEqual([
      ids.deadStart,
      ids.deadOver,
      ids.delivered,
    ]);
    sw.seen.length = 0;
    app = await start();
    await eventually(async () => (await rows(ds)).filter((r) => r.status === 'pending').length === 0, 10_000);
    const byCallback = new Map((await rows(ds)).map((r) => [r.callbackId, r]));
    expect([ids.deadStart, ids.deadOver, ids.delivered].map((id) => byCallback.get(id)!.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
    // Only the handler that had failed runs for the replayed dead ones; both for the replayed delivered one.
    const seen = (id: number) =>
      sw.seen
        .filter((s) => s.callbackId === id)
        .map((s) => s.handler)
        .sort();
    expect(seen(ids.deadStart)).toEqual(['fragile']);
    expect(seen(ids.deadOver)).toEqual(['fragile']);
    expect(seen(ids.delivered)).toEqual(['fragile', 'sturdy']);
    expect(byCallback.get(ids.otherStart)!.status).toBe('dead');

    // --since narrows to deliveries last changed at or after it: one millisecond after the death, none.
    const listed = await cli(['list', '--status', 'dead', '--json'], databaseEnv(db));
    const [deadOne] = JSON.parse(listed.stdout) as Array<{ callbackId: number; updatedAt: string }>;
    expect(deadOne.callbackId).toBe(ids.otherStart);
    const later = new Date(Date.parse(deadOne.updatedAt) + 1).toISOString();
    const tooLate = await cli(['replay', '--status', 'dead', '--since', later], databaseEnv(db));
    expect({ code: tooLate.code, out: tooLate.stdout }).toEqual({
      code: 0,
      out: `no dead deliveries since ${later}: nothing replayed\n`,
    });
    expect(seen(ids.otherStart)).toEqual([]);

    // Replayed while the app runs: its poller takes it.
    const run = await cli(['replay', '--status', 'dead', '--since', deadOne.updatedAt], databaseEnv(db));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('replayed 1 delivery');
    await eventually(() => seen(ids.otherStart).length === 1, 10_000);
    expect(seen(ids.otherStart)).toEqual(['fragile']);
    await eventually(async () => (await rows(ds)).every((r) => r.status === 'delivered'), 10_000);
  });
});
