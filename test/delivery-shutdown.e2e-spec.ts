// Graceful shutdown: in-process (`app.close()` with a running and a stuck delivery) and at process level
// (SIGTERM to a host process while a handler runs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { DeliveryScheduler } from '../src/recording-callback/delivery/delivery-scheduler';
import { KEY_A, eventBody, eventually, sign, startBody } from './support/callbacks';
import { databaseEnv, deliveryRows, openDatabase, readHostLog, spawnHost } from './support/child-host';
import type { ChildHost } from './support/child-host';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import { deliveryHarness } from './support/delivery-app';
import type { TestDatabase } from './support/databases';
import { postCallback } from './support/storm';
import { transpileForNode } from './support/transpile-for-node';
import type { NodeBuild } from './support/transpile-for-node';
import { latch } from './support/unit-store';

const HOST = 'test/support/delivery-host.ts';
/** How long the slow handler works on each event. */
const HANDLER_MS = 2000;
/** The shutdown grace: far longer than the handler, so finishing inside it is the behaviour under test. */
const GRACE_MS = 30_000;

let build: NodeBuild;
beforeAll(() => {
  build = transpileForNode([HOST]);
});
afterAll(() => build?.remove());

describe.each(DATABASE_KINDS)('SIGTERM to a host with a running delivery (%s)', (kind) => {
  let db: TestDatabase;
  let dir: string;
  let ds: DataSource | undefined;
  let host: ChildHost | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'rc-sigterm-'));
  });
  afterAll(async () => {
    await host?.kill('SIGKILL');
    await ds?.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the running delivery finish, claims nothing new, and exits within the grace time', async () => {
    const log = join(dir, 'events.jsonl');
    host = await spawnHost('terminated', build.js(HOST), {
      ...databaseEnv(db),
      EVENT_LOG: log,
      CALLBACK_KEY: KEY_A,
      HANDLER_DELAY_MS: String(HANDLER_MS),
      GRACE_MS: String(GRACE_MS),
      LEASE_MS: '60000',
      POLL_MS: '20',
    });
    const running = `${kind}-term-running`;
    const later = `${kind}-term-later`;
    expect((await postCallback(host.url, sign(startBody(running)))).status).toBe(200);
    await eventually(() => readHostLog(log).some((l) => l.taskId === running && l.phase === 'start'), 10_000);

    const signalledAt = Date.now();
    const exit = host.kill('SIGTERM');
    // Once the scheduler has stopped claiming, the server still takes callbacks while the delivery
    // finishes: stored durably, but not run here.
    await eventually(
      () => readHostLog(log).some((l) => l.handler === 'scheduler' && l.event === 'stop-claiming'),
      10_000,
    );
    const stored = await postCallback(host.url, sign(startBody(later)));
    const code = await exit;
    const tookMs = Date.now() - signalledAt;

    expect(stored.status).toBe(200);
    // Exit code 0 once the shutdown hooks are done (not the re-raised signal, which reads as killed).
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(GRACE_MS);
    const lines = readHostLog(log);
    expect(lines.filter((l) => l.taskId === running && l.handler === 'slow').map((l) => l.phase)).toEqual([
      'start',
      'end',
    ]);
    expect(lines.filter((l) => l.taskId === later)).toEqual([]);

    ds = await openDatabase(db);
    const rows = await deliveryRows(ds);
    expect(rows.find((r) => r.taskId === running)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      leaseOwner: null,
    });
    expect(rows.find((r) => r.taskId === later)).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: null });
  });
});

describe.each(DATABASE_KINDS)('app.close() with running deliveries (%s)', (kind) => {
  const { launch, close, database, releaseAfter, post, settled } = deliveryHarness(kind);

  it('on shutdown stops claiming, lets a running delivery finish within shutdownGraceMs, and releases the rest', async () => {
    const graceMs = 1500;
    const r = await launch({ delivery: { shutdownGraceMs: graceMs, leaseMs: 60_000 } });
    const quick = `${kind}-quick`;
    const stuck = `${kind}-stuck`;
    const quickGate = latch();
    const stuckGate = latch();
    releaseAfter(quickGate.release);
    releaseAfter(stuckGate.release);
    r.probe.hold = (c) =>
      c.taskId === stuck
        ? stuckGate.promise
        : c.taskId === quick && c.handler === 'primary'
          ? quickGate.promise
          : undefined;
    // The quick handler returns right after the scheduler stopped claiming (set at the start of its
    // shutdown hook), so it finishes inside the grace time and nothing of its task can be claimed after it.
    const scheduler = r.app.get(DeliveryScheduler);
    const shutdown = scheduler.beforeApplicationShutdown.bind(scheduler);
    scheduler.beforeApplicationShutdown = () => {
      const done = shutdown();
      quickGate.release();
      return done;
    };
    const quickStart = await post(r, startBody(quick));
    const stuckStart = await post(r, startBody(stuck));
    await eventually(
      () =>
        r.probe.of('primary', { callbackId: quickStart }).length === 1 &&
        r.probe.of('primary', { callbackId: stuckStart }).length === 1,
    );
    const quickNext = await post(r, eventBody(quick, 'RECORD_NEW_FILE_START', 'j1'));

    const began = Date.now();
    await close(r);
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(graceMs - 50);
    expect(took).toBeLessThan(graceMs + 5000); // not held by the stuck handler

    const ds = await database(r);
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
    // Well inside the minute the lease would have held it.
    await settled(next, 20_000);
    for (const handler of ['primary', 'sibling'] as const) {
      const ran = next.probe.of(handler).map((c) => c.callbackId);
      expect({ handler, ran: ran.sort() }).toEqual({ handler, ran: [stuckStart, quickNext].sort() });
    }
    stuckGate.release();
  });
});
