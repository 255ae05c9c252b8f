// The shared harness of the delivery e2e specs (delivery, listing/replay API, watchdog, shutdown): an app
// with handlers that report every call to a Probe each test configures, and helpers over real HTTP.
import { Inject, Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext, Provider } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { RecordingEvents } from '../../src/recording-callback';
import type {
  DeliveryDeadEvent,
  RecordingCallbackEvent,
  RecordingCallbackModuleOptions,
  TaskStalledEvent,
  TaskStatusChangedEvent,
} from '../../src/recording-callback';
import { KEY_A, eventually, sign } from './callbacks';
import { deliveryRows, openDatabase } from './child-host';
import { createTestDatabase } from './databases';
import type { TestDatabase } from './databases';
import { CALLBACK_PATH } from './e2e-helpers';
import { startApp } from './start-app';
import type { Wiring } from './start-app';

type Body = Record<string, unknown>;
/** Route of the delivery list; `${DELIVERIES}/:id/replay` replays one. */
export const DELIVERIES = `${CALLBACK_PATH}/deliveries`;

/** One handler call, as the Probe saw it. */
export interface Call {
  handler: 'primary' | 'sibling' | 'status' | 'stalled';
  event: string;
  callbackId: number | null;
  taskId: string;
  attempt: number;
  at: number;
}

/** Records handler calls and decides how each call behaves (fail, take time, wait for a gate). */
export class Probe {
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

  /** The calls of one handler, in call order, that match every field of `filter`. */
  of(handler: Call['handler'], filter: Partial<Call> = {}): Call[] {
    return this.calls.filter(
      (c) => c.handler === handler && Object.entries(filter).every(([k, v]) => c[k as keyof Call] === v),
    );
  }
}

/** Token of the Probe the handlers report to. */
const PROBE = Symbol('PROBE');

/** Handles the four Huawei events, reporting each call to the Probe as `primary`. */
@Injectable()
export class PrimaryHandlers {
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
export class SiblingHandlers {
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

/** Handles status changes, stall notices and dead letters, reporting them to the Probe. */
@Injectable()
export class OperationsHandlers {
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
export class FileCompleteOnlyHandlers {
  constructor(@Inject(PROBE) private readonly probe: Probe) {}
  @OnEvent(RecordingEvents.FileComplete) onFileComplete(e: RecordingCallbackEvent) {
    return this.probe.handle('primary', RecordingEvents.FileComplete, e.callbackId, e.task.taskId, e.attempt);
  }
}

/** A guard of the app's own, passed as `queryGuards`: needs `x-ops-token: let-me-in`. */
@Injectable()
export class OpsTokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest().headers['x-ops-token'] === 'let-me-in';
  }
}

/** Small delays, so retries happen within milliseconds. */
const FAST_DELIVERY = {
  maxAttempts: 8,
  baseDelayMs: 10,
  maxDelayMs: 40,
  pollIntervalMs: 20,
  leaseMs: 30_000,
  shutdownGraceMs: 2000,
};

/** A started delivery test app. */
export interface Running {
  app: NestExpressApplication;
  url: string;
  probe: Probe;
  db: TestDatabase;
}

/** A delivery as the list route answers it. */
export interface DeliveryJson {
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

/** Options of one app: the module's options over the fast defaults (`delivery` merged). */
export type LaunchOptions = Partial<RecordingCallbackModuleOptions> & {
  delivery?: RecordingCallbackModuleOptions['delivery'];
};

/** How an app is launched: on an existing database, with a given probe, wiring or handlers. */
export interface LaunchSettings {
  db?: TestDatabase;
  probe?: Probe;
  wiring?: Wiring;
  handlers?: Provider[];
}

/**
 * The delivery harness of one `describe` block: `launch` starts an app on a fresh database of `kind`
 * (HMACSHA256 with KEY_A, watchdog timer off, fast retries, replay open) listening on a real port; after
 * each test every app, DataSource and database it made is closed and dropped, and every gate released.
 *
 * @example
 * const h = deliveryHarness(kind);
 * it('…', async () => { const r = await h.launch(); const id = await h.post(r, startBody('t')); await h.nothingScheduled(r); });
 */
export function deliveryHarness(kind: TestDatabase['kind']) {
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

  async function launch(options: LaunchOptions = {}, settings: LaunchSettings = {}): Promise<Running> {
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

  /** Closes an app now (the test observes its shutdown); after-each cleanup then leaves it alone. */
  async function close(r: Running): Promise<void> {
    apps.splice(apps.indexOf(r.app), 1);
    await r.app.close();
  }

  /** A DataSource of the test's own on the app's database, closed after the test. */
  async function database(r: Running): Promise<DataSource> {
    const ds = await openDatabase(r.db);
    sources.push(ds);
    return ds;
  }

  /** Releases the gate after the test, should the test end before it does. */
  function releaseAfter(release: () => void): void {
    releases.push(release);
  }

  /** Posts a signed callback; it must be accepted. Returns its callback id. */
  async function post(r: Running, body: Body, timestamp?: number): Promise<number> {
    const res = await request(r.url).post(CALLBACK_PATH).send(sign(body, { timestamp }));
    expect({ status: res.status, result: res.body.result }).toEqual({ status: 200, result: 'accepted' });
    return res.body.callbackId as number;
  }

  /** One page of the delivery list; must answer 200. */
  async function deliveries(
    r: Running,
    query: Record<string, string | number> = {},
    headers: Record<string, string> = {},
  ): Promise<{ items: DeliveryJson[]; nextCursor: string | null }> {
    const res = await request(r.url).get(DELIVERIES).query(query).set(headers);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    return res.body as { items: DeliveryJson[]; nextCursor: string | null };
  }

  /** Waits until no delivery is pending or failed, as the list route shows. */
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
    const ds = await database(r);
    await eventually(async () => {
      const rows = await deliveryRows(ds);
      return rows.every((row) => (row.status === 'delivered' || row.status === 'dead') && row.leaseOwner === null);
    }, 10_000);
  }

  return { launch, close, database, releaseAfter, post, deliveries, settled, nothingScheduled };
}
