import { Inject, Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext, Provider } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { RecordingEvents, StalledTaskWatchdog } from '../src/recording-callback';
import type {
  DeliveryDeadEvent,
  RecordingCallbackEvent,
  RecordingCallbackModuleOptions,
  TaskStalledEvent,
  TaskStatusChangedEvent,
} from '../src/recording-callback';
import { KEY_A, eventBody, eventually, sign, startBody } from './support/callbacks';
import { deliveryRows, openDatabase } from './support/child-host';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { CALLBACK_PATH, ISO_UTC, TASKS_PATH, storedCallbacks } from './support/e2e-helpers';
import { startApp } from './support/start-app';
import type { Wiring } from './support/start-app';

type Body = Record<string, unknown>;
const DELIVERIES = `${CALLBACK_PATH}/deliveries`;

// ---------------------------------------------------------------------------------------------------
// Handlers of the test app. They report every call to a Probe that each test configures.

interface Call {
  handler: 'primary' | 'sibling' | 'status' | 'stalled';
  event: string;
  callbackId: number | null;
  taskId: string;
  attempt: number;
  at: number;
}

/** Records handler calls and decides how each call behaves (fail, take time, wait for a gate). */
class Probe {
  readonly calls: Call[] = [];
  readonly dead: DeliveryDeadEvent[] = [];
  readonly stalls: TaskStalledEvent[] = [];
  /** Tasks with two handler calls running at the same moment (must stay empty). */
  readonly overlaps: string[] = [];
  /** Largest number of handler calls running at once over all tasks. */
  maxRunning = 0;
  /** Throws when this returns true for a call. */
  fail: (call: Call) => boolean = () => false;
  /** Milliseconds a call works before it returns (or throws). */
  delay: (call: Call) => number = () => 0;
  /** When set, a call for which this returns a promise waits for it. */
  hold: (call: Call) => Promise<void> | undefined = () => undefined;
  private readonly running = new Map<string, number>();
  private total = 0;

  async handle(
    handler: Call['handler'],
    event: string,
    callbackId: number | null,
    taskId: string,
    attempt: number,
  ): Promise<void> {
    const call: Call = { handler, event, callbackId, taskId, attempt, at: Date.now() };
    this.calls.push(call);
    const now = (this.running.get(taskId) ?? 0) + 1;
    this.running.set(taskId, now);
    this.maxRunning = Math.max(this.maxRunning, ++this.total);
    if (now > 1)
      this.overlaps.push(`${taskId}: ${handler} ${event} callback ${callbackId} started while another call ran`);
    try {
      const ms = this.delay(call);
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      await this.hold(call);
      if (this.fail(call)) throw new Error(`${handler} refuses callback ${callbackId} (attempt ${attempt})`);
    } finally {
      this.running.set(taskId, this.running.get(taskId)! - 1);
      this.total--;
    }
  }

  of(handler: Call['handler'], filter: Partial<Call> = {}): Call[] {
    return this.calls.filter(
      (c) => c.handler === handler && Object.entries(filter).every(([k, v]) => c[k as keyof Call] === v),
    );
  }
}

const PROBE = Symbol('PROBE');

@Injectable()
class PrimaryHandlers {
  constructor(@Inject(PROBE) private readonly probe: Probe) {}
  private on(event: string, e: RecordingCallbackEvent) {
    return this.probe.handle('primary', event, e.callbackId, e.task.taskId, e.attempt);
  }
  @OnEvent(RecordingEvents.Start) onStart(e: RecordingCallbackEvent) {
    return this.on(RecordingEvents.Start, e);
  }
  @OnEvent(RecordingEvents.NewFileStart) onNewFile(e: RecordingCallbackEvent) {
    return this.on(RecordingEvents.NewFileStart, e);
  }
  @OnEvent(RecordingEvents.FileComplete) onFileComplete(e: RecordingCallbackEvent) {
    return this.on(RecordingEvents.FileComplete, e);
  }
  @OnEvent(RecordingEvents.Over) onOver(e: RecordingCallbackEvent) {
    return this.on(RecordingEvents.Over, e);
  }
}

/** Listens to the same events as PrimaryHandlers: a sibling that must not be re-run by retries. */
@Injectable()
class SiblingHandlers {
  constructor(@Inject(PROBE) private readonly probe: Probe) {}
  private on(event: string, e: RecordingCallbackEvent) {
    return this.probe.handle('sibling', event, e.callbackId, e.task.taskId, e.attempt);
  }
  @OnEvent(RecordingEvents.Start) onStart(e: RecordingCallbackEvent) {
    return this.on(RecordingEvents.Start, e);
  }
  @OnEvent(RecordingEvents.NewFileStart) onNewFile(e: RecordingCallbackEvent) {
    return this.on(RecordingEvents.NewFileStart, e);
  }
  @OnEvent(RecordingEvents.FileComplete) onFileComplete(e: RecordingCallbackEvent) {
    return this.on(RecordingEvents.FileComplete, e);
  }
  @OnEvent(RecordingEvents.Over) onOver(e: RecordingCallbackEvent) {
    return this.on(RecordingEvents.Over, e);
  }
}

@Injectable()
class OperationsHandlers {
  constructor(@Inject(PROBE) private readonly probe: Probe) {}
  @OnEvent(RecordingEvents.StatusChanged) onStatus(e: TaskStatusChangedEvent) {
    return this.probe.handle('status', RecordingEvents.StatusChanged, e.callbackId, e.task.taskId, e.attempt);
  }
  @OnEvent(RecordingEvents.Stalled) onStalled(e: TaskStalledEvent) {
    this.probe.stalls.push(e);
    return this.probe.handle('stalled', RecordingEvents.Stalled, null, e.taskId, e.attempt);
  }
  @OnEvent(RecordingEvents.DeliveryDead) onDead(e: DeliveryDeadEvent) {
    this.probe.dead.push(e);
  }
}

/** An app that listens only to completed files (like the host app's sample handler). */
@Injectable()
class FileCompleteOnlyHandlers {
  constructor(@Inject(PROBE) private readonly probe: Probe) {}
  @OnEvent(RecordingEvents.FileComplete) onFileComplete(e: RecordingCallbackEvent) {
    return this.probe.handle('primary', RecordingEvents.FileComplete, e.callbackId, e.task.taskId, e.attempt);
  }
}

/** A guard of the app's own, passed as `queryGuards`: needs `x-ops-token: let-me-in`. */
@Injectable()
class OpsTokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest().headers['x-ops-token'] === 'let-me-in';
  }
}

// ---------------------------------------------------------------------------------------------------

/** Small delays, so retries happen within milliseconds. */
const FAST_DELIVERY = {
  maxAttempts: 8,
  baseDelayMs: 10,
  maxDelayMs: 40,
  pollIntervalMs: 20,
  leaseMs: 30_000,
  shutdownGraceMs: 2000,
};

interface Running {
  app: NestExpressApplication;
  url: string;
  probe: Probe;
  db: TestDatabase;
}

interface DeliveryJson {
  id: number;
  callbackId: number | null;
  taskId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  succeededHandlers: string[];
}

describe.each(DATABASE_KINDS)('durable delivery (%s)', (kind) => {
  const apps: NestExpressApplication[] = [];
  const dbs: TestDatabase[] = [];
  const sources: DataSource[] = [];
  const releases: Array<() => void> = [];

  afterEach(async () => {
    releases.splice(0).forEach((release) => release());
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    for (const ds of sources.splice(0)) await ds.destroy();
    for (const db of dbs.splice(0)) await db.drop();
  });

  async function launch(
    options: Partial<RecordingCallbackModuleOptions> & { delivery?: RecordingCallbackModuleOptions['delivery'] } = {},
    settings: { db?: TestDatabase; probe?: Probe; wiring?: Wiring; handlers?: Provider[] } = {},
  ): Promise<Running> {
    const db = settings.db ?? (await createTestDatabase(kind));
    if (!settings.db) dbs.push(db);
    const probe = settings.probe ?? new Probe();
    const app = await startApp(db, {
      module: {
        auth: { algorithm: 'HMACSHA256', keys: [KEY_A] },
        watchdog: { checkIntervalMs: 0 },
        // Replay needs a guard; an app that sets none for queries stands in here with one that allows all.
        ...(options.queryGuards ? {} : { operationGuards: [{ canActivate: () => true }] }),
        ...options,
        delivery: { ...FAST_DELIVERY, ...options.delivery },
      },
      wiring: settings.wiring ?? 'forRoot',
      providers: [
        { provide: PROBE, useValue: probe },
        ...(settings.handlers ?? [PrimaryHandlers, SiblingHandlers, OperationsHandlers]),
        OpsTokenGuard,
      ],
    });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    return { app, url: `http://127.0.0.1:${port}`, probe, db };
  }

  async function post(r: Running, body: Body, timestamp?: number): Promise<number> {
    const res = await request(r.url).post(CALLBACK_PATH).send(sign(body, { timestamp }));
    expect({ status: res.status, result: res.body.result }).toEqual({ status: 200, result: 'accepted' });
    return res.body.callbackId as number;
  }

  async function deliveries(
    r: Running,
    query: Record<string, string | number> = {},
    headers: Record<string, string> = {},
  ) {
    const res = await request(r.url).get(DELIVERIES).query(query).set(headers);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    return res.body as { items: DeliveryJson[]; nextCursor: string | null };
  }

  async function settled(r: Running, timeoutMs = 10_000): Promise<void> {
    await eventually(async () => {
      const [pending, failed] = await Promise.all([
        deliveries(r, { status: 'pending' }),
        deliveries(r, { status: 'failed' }),
      ]);
      return pending.items.length === 0 && failed.items.length === 0;
    }, timeoutMs);
  }

  /**
   * Waits until the stored state has nothing scheduled: no delivery pending or failed (due later) and
   * none leased (running). Delivered and dead deliveries never run again without a replay, so from here
   * on a call a test did not cause cannot come, however late: what the probe holds is final.
   */
  async function nothingScheduled(r: Running): Promise<void> {
    const ds = await openDatabase(r.db);
    sources.push(ds);
    await eventually(async () => {
      const rows = await deliveryRows(ds);
      return rows.every((row) => (row.status === 'delivered' || row.status === 'dead') && row.leaseOwner === null);
    }, 10_000);
  }

  it('retries only the failed handler: failing twice then succeeding means three calls, its sibling one', async () => {
    const r = await launch();
    r.probe.fail = (c) => c.handler === 'primary' && c.attempt <= 2;
    const body = startBody(`${kind}-flaky`);
    const callbackId = await post(r, body);
    await nothingScheduled(r);

    expect(r.probe.of('primary').map((c) => [c.event, c.callbackId, c.attempt])).toEqual([
      [RecordingEvents.Start, callbackId, 1],
      [RecordingEvents.Start, callbackId, 2],
      [RecordingEvents.Start, callbackId, 3],
    ]);
    expect(r.probe.of('sibling').map((c) => [c.event, c.callbackId, c.attempt])).toEqual([
      [RecordingEvents.Start, callbackId, 1],
    ]);
    // The status change of the same callback is another handler: it succeeded at once and is not re-run.
    expect(r.probe.of('status').map((c) => [c.callbackId, c.attempt])).toEqual([[callbackId, 1]]);

    const { items } = await deliveries(r, { taskId: `${kind}-flaky` });
    expect(items).toEqual([
      expect.objectContaining({
        callbackId,
        taskId: `${kind}-flaky`,
        eventType: 'RECORD_START',
        status: 'delivered',
        attempts: 3,
        lastError: null,
        nextAttemptAt: null,
      }),
    ]);
    expect([...items[0].succeededHandlers].sort()).toEqual([
      'OperationsHandlers.onStatus@recording.status-changed',
      'PrimaryHandlers.onStart@recording.start',
      'SiblingHandlers.onStart@recording.start',
    ]);

    // The callback id is stable: the same callback sent again is a duplicate with the same id, not redelivered.
    const again = await request(r.url)
      .post(CALLBACK_PATH)
      .send(sign(body, { timestamp: Math.floor(Date.now() / 1000) - 7 }));
    expect(again.body).toEqual({ result: 'duplicate', callbackId });
    await nothingScheduled(r);
    expect(r.probe.calls).toHaveLength(5);
  });

  it('dead-letters a delivery after maxAttempts, emits delivery-dead once, and replays it on request', async () => {
    const r = await launch({ delivery: { maxAttempts: 3 } });
    const task = `${kind}-dead`;
    let broken = true;
    r.probe.fail = (c) => broken && c.handler === 'primary' && c.event === RecordingEvents.FileComplete;
    await post(r, startBody(task));
    const callbackId = await post(r, eventBody(task, 'RECORD_FILE_COMPLETE', 'job-1'));

    await eventually(async () => (await deliveries(r, { status: 'dead' })).items.length === 1);
    const [dead] = (await deliveries(r, { status: 'dead', taskId: task })).items;
    expect(dead).toMatchObject({
      callbackId,
      taskId: task,
      eventType: 'RECORD_FILE_COMPLETE',
      status: 'dead',
      attempts: 3,
      nextAttemptAt: null,
    });
    expect(dead.lastError).toContain('PrimaryHandlers.onFileComplete@recording.file-complete');
    expect(dead.lastError).toContain(`primary refuses callback ${callbackId} (attempt 3)`);
    expect(dead.succeededHandlers).toEqual(['SiblingHandlers.onFileComplete@recording.file-complete']);

    // A dead delivery is not tried again and its event is not repeated: nothing is left scheduled.
    await nothingScheduled(r);
    await eventually(() => r.probe.dead.length > 0);
    expect(r.probe.of('primary', { event: RecordingEvents.FileComplete }).map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(r.probe.of('sibling', { event: RecordingEvents.FileComplete }).map((c) => c.attempt)).toEqual([1]);
    expect(r.probe.dead).toHaveLength(1);
    expect(r.probe.dead[0]).toMatchObject({
      deliveryId: dead.id,
      callbackId,
      taskId: task,
      eventType: 'RECORD_FILE_COMPLETE',
      attempts: 3,
      lastError: dead.lastError,
    });

    // A dead delivery no longer holds back the task's later deliveries.
    const overId = await post(r, eventBody(task, 'RECORD_OVER'));
    await eventually(() => r.probe.of('sibling', { callbackId: overId }).length === 1);

    broken = false;
    const replay = await request(r.url).post(`${DELIVERIES}/${dead.id}/replay`);
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ id: dead.id, callbackId, status: 'pending', attempts: 0 });
    expect(replay.body.nextAttemptAt).toMatch(ISO_UTC);
    await nothingScheduled(r);
    // Handed to the handler that failed (attempt numbering restarts), not to the sibling that succeeded.
    expect(
      r.probe.of('primary', { event: RecordingEvents.FileComplete }).map((c) => [c.callbackId, c.attempt]),
    ).toEqual([
      [callbackId, 1],
      [callbackId, 2],
      [callbackId, 3],
      [callbackId, 1],
    ]);
    expect(r.probe.of('sibling', { event: RecordingEvents.FileComplete })).toHaveLength(1);
    expect(r.probe.dead).toHaveLength(1);
    const after = (await deliveries(r, { taskId: task })).items.find((d) => d.id === dead.id)!;
    expect(after).toMatchObject({ status: 'delivered', attempts: 1, nextAttemptAt: null });

    // Replaying a delivered delivery hands it to every handler again.
    expect((await request(r.url).post(`${DELIVERIES}/${dead.id}/replay`)).status).toBe(202);
    await eventually(() => r.probe.of('sibling', { event: RecordingEvents.FileComplete }).length === 2);
    await settled(r);
    expect(r.probe.of('primary', { event: RecordingEvents.FileComplete })).toHaveLength(5);

    expect((await request(r.url).post(`${DELIVERIES}/999999/replay`)).status).toBe(404);
    expect((await request(r.url).post(`${DELIVERIES}/abc/replay`)).status).toBe(400);
  });

  it('lists deliveries with status and taskId filters, keyset pages, and 400 for bad parameters', async () => {
    const r = await launch({ delivery: { maxAttempts: 1 } });
    r.probe.fail = (c) => c.handler === 'primary' && c.taskId.includes('bad');
    const t = (name: string) => `${kind}-${name}`;
    const plan: Body[] = [
      startBody(t('good-1')),
      eventBody(t('good-1'), 'RECORD_NEW_FILE_START', 'j1'),
      eventBody(t('good-1'), 'RECORD_FILE_COMPLETE', 'j1'),
      startBody(t('good-2')),
      eventBody(t('good-2'), 'RECORD_OVER'),
      startBody(t('bad-1')),
      startBody(t('bad-2')),
      eventBody(t('bad-2'), 'RECORD_OVER'),
    ];
    for (const body of plan) await post(r, body);
    await settled(r);

    const all = (await deliveries(r, { limit: 100 })).items;
    expect(all).toHaveLength(8);
    const ids = all.map((d) => d.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a)); // newest first
    for (const d of all) {
      expect(Object.keys(d).sort()).toEqual(
        [
          'attempts',
          'callbackId',
          'createdAt',
          'eventType',
          'id',
          'lastError',
          'nextAttemptAt',
          'status',
          'succeededHandlers',
          'taskId',
          'updatedAt',
        ].sort(),
      );
    }

    const dead = (await deliveries(r, { status: 'dead' })).items;
    expect(dead.map((d) => [d.taskId, d.eventType, d.status, d.attempts])).toEqual([
      [t('bad-2'), 'RECORD_OVER', 'dead', 1],
      [t('bad-2'), 'RECORD_START', 'dead', 1],
      [t('bad-1'), 'RECORD_START', 'dead', 1],
    ]);
    expect((await deliveries(r, { status: 'delivered' })).items).toHaveLength(5);
    expect((await deliveries(r, { taskId: t('good-1') })).items.map((d) => d.eventType)).toEqual([
      'RECORD_FILE_COMPLETE',
      'RECORD_NEW_FILE_START',
      'RECORD_START',
    ]);
    expect((await deliveries(r, { status: 'dead', taskId: t('bad-2') })).items).toHaveLength(2);
    expect((await deliveries(r, { status: 'delivered', taskId: t('bad-1') })).items).toEqual([]);
    expect((await deliveries(r, { taskId: 'no-such-task' })).items).toEqual([]);

    // Pages of 3 cover everything once, newest first, even while a new delivery is added between pages.
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: DeliveryJson[]; nextCursor: string | null } = await deliveries(r, {
        limit: 3,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
      if (pages++ === 0) await post(r, startBody(t('late')));
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    const deadPage = await deliveries(r, { status: 'dead', limit: 2 });
    expect(deadPage.items.map((d) => d.id)).toEqual(dead.slice(0, 2).map((d) => d.id));
    expect(deadPage.nextCursor).toEqual(expect.any(String));
    const lastPage = await deliveries(r, { status: 'dead', limit: 2, cursor: deadPage.nextCursor! });
    expect(lastPage).toEqual({ items: [expect.objectContaining({ id: dead[2].id })], nextCursor: null });
    expect((await deliveries(r, { limit: 1 })).items).toHaveLength(1);

    const bad: Array<[Record<string, string>, string]> = [
      [{ status: 'bogus' }, 'status'],
      [{ status: 'DEAD' }, 'status'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '101' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ limit: '2.5' }, 'limit'],
      [{ cursor: 'abc' }, 'cursor'],
      [{ cursor: '-1' }, 'cursor'],
      [{ taskId: '' }, 'taskId'],
      [{ taskId: 'x'.repeat(257) }, 'taskId'],
      [{ sort: 'asc' }, 'sort'],
    ];
    for (const [query, field] of bad) {
      const res = await request(r.url).get(DELIVERIES).query(query);
      expect({ query, status: res.status, fields: Object.keys(res.body.fields ?? {}) }).toEqual({
        query,
        status: 400,
        fields: [field],
      });
    }
  });

  it('guards the delivery routes with the app-supplied queryGuards', async () => {
    const r = await launch({ queryGuards: [OpsTokenGuard] }, { wiring: 'forRootAsync' });
    const ok = { 'x-ops-token': 'let-me-in' };
    // The callback route itself is signed, not guarded.
    await post(r, startBody(`${kind}-guarded`));
    await eventually(async () => (await deliveries(r, { status: 'delivered' }, ok)).items.length === 1);

    expect((await request(r.url).get(DELIVERIES)).status).toBe(403);
    expect((await request(r.url).get(DELIVERIES).set('x-ops-token', 'wrong')).status).toBe(403);
    const [item] = (await deliveries(r, {}, ok)).items;
    expect((await request(r.url).post(`${DELIVERIES}/${item.id}/replay`)).status).toBe(403);
    await nothingScheduled(r);
    expect(r.probe.of('primary')).toHaveLength(1); // the refused replay changed nothing
    expect((await deliveries(r, {}, ok)).items[0]).toMatchObject({ id: item.id, status: 'delivered', attempts: 1 });
    expect((await request(r.url).post(`${DELIVERIES}/${item.id}/replay`).set(ok)).status).toBe(202);
    await eventually(() => r.probe.of('primary').length === 2);
  });

  it('keeps per-task order under concurrency: stored order, one call of a task at a time', async () => {
    const r = await launch();
    // The primary handler is slow and uneven, so that later callbacks would overtake if they could.
    r.probe.delay = (c) => (c.handler === 'primary' ? 2 + (((c.callbackId ?? 0) * 7) % 9) : 0);
    const tasks = ['a', 'b', 'c', 'd'].map((x) => `${kind}-order-${x}`);
    const bodies = tasks.flatMap((task) => [
      startBody(task),
      ...[1, 2, 3, 4, 5].flatMap((j) => [
        eventBody(task, 'RECORD_NEW_FILE_START', `${task}-j${j}`),
        eventBody(task, 'RECORD_FILE_COMPLETE', `${task}-j${j}`),
      ]),
      eventBody(task, 'RECORD_OVER'),
    ]);
    // Interleave tasks and send everything at once.
    const interleaved = bodies
      .map((b, i) => ({ b, k: (i % 12) * 10 + Math.floor(i / 12) }))
      .sort((x, y) => x.k - y.k)
      .map((x) => x.b);
    await Promise.all(interleaved.map((b) => post(r, b)));
    await settled(r, 20_000);

    expect(r.probe.overlaps).toEqual([]);
    expect(r.probe.maxRunning).toBeGreaterThan(1); // different tasks did run at the same time
    for (const task of tasks) {
      const stored = (await storedCallbacks(r.app, task)).map((c) => c.id);
      expect(stored).toHaveLength(12);
      for (const handler of ['primary', 'sibling'] as const) {
        const seen = r.probe.of(handler, { taskId: task }).map((c) => c.callbackId);
        expect({ task, handler, seen }).toEqual({ task, handler, seen: stored });
      }
      const statusSeen = r.probe.of('status', { taskId: task }).map((c) => c.callbackId!);
      expect(statusSeen).toEqual([...statusSeen].sort((a, b) => a - b));
    }
  });

  it('spends no delivery work on callbacks nobody listens to, so they never crowd out a listened one', async () => {
    // One delivery at a time and no poll: a worker holds at most 4 task loops, and a delivery it does
    // not claim at ingest would wait for a poll that never comes.
    const r = await launch(
      { delivery: { concurrency: 1, pollIntervalMs: 0 } },
      { handlers: [FileCompleteOnlyHandlers] },
    );
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    r.probe.hold = (c) => (c.taskId.endsWith('-first') ? gate : undefined);

    // The first completed file takes the only delivery slot and keeps it.
    await post(r, eventBody(`${kind}-quiet-first`, 'RECORD_FILE_COMPLETE', 'j1'));
    await eventually(async () => r.probe.calls.length === 1);
    // Six callbacks no handler listens to: recorded as delivered, with no task loop waiting for the slot.
    const unheard = [1, 2, 3, 4, 5, 6].map((i) => `${kind}-quiet-unheard-${i}`);
    for (const task of unheard) await post(r, startBody(task));
    // So a listened callback is still claimed at ingest, and runs as soon as the slot is free.
    await post(r, eventBody(`${kind}-quiet-second`, 'RECORD_FILE_COMPLETE', 'j1'));
    release();
    await eventually(async () => r.probe.calls.length === 2, 5000);

    expect(r.probe.calls.map((c) => c.taskId)).toEqual([`${kind}-quiet-first`, `${kind}-quiet-second`]);
    const { items } = await deliveries(r, { limit: 100 });
    const unheardRows = items.filter((d) => unheard.includes(d.taskId));
    expect(unheardRows).toHaveLength(6);
    expect(unheardRows.every((d) => d.status === 'delivered' && d.attempts === 0)).toBe(true);
    await settled(r);
  });

  it('holds back later deliveries of a task while an earlier one fails, and only of that task', async () => {
    const r = await launch({ delivery: { maxAttempts: 1000, baseDelayMs: 10, maxDelayMs: 20 } });
    const blocked = `${kind}-blocked`;
    const free = `${kind}-free`;
    let broken = true;
    r.probe.fail = (c) => broken && c.handler === 'primary' && c.taskId === blocked;
    const first = await post(r, startBody(blocked));
    await eventually(() => r.probe.of('primary', { callbackId: first }).length >= 2);

    const second = await post(r, eventBody(blocked, 'RECORD_NEW_FILE_START', 'j1'));
    const third = await post(r, eventBody(blocked, 'RECORD_FILE_COMPLETE', 'j1'));
    const other = await post(r, startBody(free));
    await eventually(
      () =>
        r.probe.of('sibling', { callbackId: other }).length === 1 &&
        r.probe.of('primary', { callbackId: other }).length === 1,
    );
    const triesBefore = r.probe.of('primary', { callbackId: first }).length;
    await eventually(() => r.probe.of('primary', { callbackId: first }).length >= triesBefore + 3);

    // Still failing: nothing later of the same task has been handed to any handler.
    expect(r.probe.calls.filter((c) => c.callbackId === second || c.callbackId === third)).toEqual([]);
    const waiting = (await deliveries(r, { taskId: blocked })).items;
    expect(waiting.map((d) => [d.callbackId, d.status, d.attempts])).toEqual([
      [third, 'pending', 0],
      [second, 'pending', 0],
      [first, 'failed', expect.any(Number)],
    ]);
    // The sibling of the failing delivery ran once; retries skip it.
    expect(r.probe.of('sibling', { callbackId: first })).toHaveLength(1);

    broken = false;
    await settled(r);
    const order = r.probe.of('primary', { taskId: blocked }).map((c) => c.callbackId);
    const firstSuccess = order.lastIndexOf(first);
    expect(order.slice(firstSuccess)).toEqual([first, second, third]);
    expect(r.probe.of('sibling', { taskId: blocked }).map((c) => c.callbackId)).toEqual([first, second, third]);
  });

  it('flags a silent RECORDING task once with a controllable clock; its next callback clears the flag', async () => {
    let clock = Date.parse('2026-03-01T10:00:00.000Z');
    const r = await launch({ now: () => clock, watchdog: { stallAfterSeconds: 3600, checkIntervalMs: 0 } });
    const ts = () => Math.floor(clock / 1000);
    const silent = `${kind}-silent`;
    const later = `${kind}-later`;
    const over = `${kind}-over`;
    await post(r, startBody(silent), ts());
    await post(r, startBody(over), ts());
    await post(r, eventBody(over, 'RECORD_OVER'), ts());
    clock += 30 * 60_000;
    await post(r, startBody(later), ts());
    await settled(r);
    const watchdog = r.app.get(StalledTaskWatchdog);

    clock = Date.parse('2026-03-01T11:00:00.000Z'); // exactly one hour of silence: not yet
    expect(await watchdog.check()).toEqual([]);
    clock += 1000;
    const flaggedAt = clock;
    expect(await watchdog.check()).toEqual([silent]);
    expect(await watchdog.check()).toEqual([]);
    clock += 10 * 60_000;
    expect(await watchdog.check()).toEqual([]); // still the same stall: not flagged again

    const task = (await request(r.url).get(`${TASKS_PATH}/${silent}`).expect(200)).body;
    expect(task).toMatchObject({ taskId: silent, status: 'RECORDING', stalledAt: new Date(flaggedAt).toISOString() });
    expect((await request(r.url).get(`${TASKS_PATH}/${later}`).expect(200)).body.stalledAt).toBeNull();
    expect((await request(r.url).get(`${TASKS_PATH}/${over}`).expect(200)).body.stalledAt).toBeNull();

    await nothingScheduled(r);
    expect(r.probe.of('stalled').map((c) => [c.taskId, c.attempt])).toEqual([[silent, 1]]);
    expect(r.probe.stalls[0].stalledAt.toISOString()).toBe(new Date(flaggedAt).toISOString());
    expect(r.probe.stalls[0].task).toMatchObject({ taskId: silent, status: 'RECORDING' });
    const [notice] = (await deliveries(r, { taskId: silent })).items;
    expect(notice).toMatchObject({ callbackId: null, eventType: 'STALLED', status: 'delivered', attempts: 1 });

    // The next callback clears the flag; a new silence is a new stall.
    await post(r, eventBody(silent, 'RECORD_NEW_FILE_START', 'j1'), ts());
    expect((await request(r.url).get(`${TASKS_PATH}/${silent}`).expect(200)).body.stalledAt).toBeNull();
    expect(await watchdog.check()).toEqual([]);
    clock += 3600_000 + 1000;
    expect((await watchdog.check()).sort()).toEqual([later, silent].sort());
    await settled(r);
    expect(
      r.probe
        .of('stalled')
        .map((c) => c.taskId)
        .sort(),
    ).toEqual([later, silent, silent].sort());
  });

  it('on shutdown stops claiming, lets a running delivery finish within shutdownGraceMs, and releases the rest', async () => {
    const graceMs = 1500;
    const r = await launch({ delivery: { shutdownGraceMs: graceMs, leaseMs: 60_000 } });
    const quick = `${kind}-quick`;
    const stuck = `${kind}-stuck`;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    releases.push(release);
    r.probe.delay = (c) => (c.taskId === quick && c.handler === 'primary' ? 400 : 0);
    r.probe.hold = (c) => (c.taskId === stuck ? gate : undefined);
    const quickStart = await post(r, startBody(quick));
    const stuckStart = await post(r, startBody(stuck));
    await eventually(
      () =>
        r.probe.of('primary', { callbackId: quickStart }).length === 1 &&
        r.probe.of('primary', { callbackId: stuckStart }).length === 1,
    );
    const quickNext = await post(r, eventBody(quick, 'RECORD_NEW_FILE_START', 'j1'));

    const began = Date.now();
    await r.app.close();
    apps.splice(apps.indexOf(r.app), 1);
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(graceMs - 50);
    expect(took).toBeLessThan(graceMs + 5000); // not held by the stuck handler

    const ds = await openDatabase(r.db);
    sources.push(ds);
    const rows = new Map((await deliveryRows(ds)).map((row) => [row.callbackId, row]));
    // Finished within the grace period and recorded.
    expect(rows.get(quickStart)).toMatchObject({ status: 'delivered', attempts: 1, leaseOwner: null });
    // Still running when the grace period ended: its lease is released at once, not left to expire.
    expect(rows.get(stuckStart)).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: null, leaseUntil: null });
    // Never claimed after shutdown began.
    expect(rows.get(quickNext)).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: null });
    expect(r.probe.calls.filter((c) => c.callbackId === quickNext)).toEqual([]);

    // The next start picks the released delivery up at once, though its lease would have run for a minute.
    const next = await launch({ delivery: { leaseMs: 60_000 } }, { db: r.db });
    await settled(next, 5000);
    expect(
      next.probe
        .of('primary')
        .map((c) => c.callbackId)
        .sort(),
    ).toEqual([stuckStart, quickNext].sort());
    expect(
      next.probe
        .of('sibling')
        .map((c) => c.callbackId)
        .sort(),
    ).toEqual([stuckStart, quickNext].sort());
    release();
  });
});
