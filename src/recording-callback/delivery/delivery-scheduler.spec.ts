import { FakeRegistry, latch, openUnitStore, taskState, until } from '../../../test/support/unit-store';
import type { UnitStore } from '../../../test/support/unit-store';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import type { DeliveryContext } from './delivery-context';
import { DeliveryRunner } from './delivery-runner';
import { DeliveryScheduler } from './delivery-scheduler';
import { deliverySql } from './delivery.sql';
import { RecordingEvents, TaskStalledEvent } from './recording-events';
import type { RecordingDeliveryOptions } from '../recording-callback.options';

describe('DeliveryScheduler', () => {
  let store: UnitStore;
  let registry: FakeRegistry;
  let scheduler: DeliveryScheduler;

  async function start(delivery: RecordingDeliveryOptions = {}): Promise<void> {
    store = await openUnitStore({ baseDelayMs: 1000, handlerTimeoutMs: 5000, leaseMs: 60_000, ...delivery });
    registry = new FakeRegistry();
    const runner = new DeliveryRunner(store.db, registry, store.options, new RecordingTelemetry());
    scheduler = new DeliveryScheduler(store.db, runner, registry, store.options);
  }
  afterEach(() => store.close());

  /** Stores a stall notice for a task (the simplest delivery: its payload needs no stored callback). */
  async function pending(taskId: string, over: { nextAttemptAt?: number } = {}): Promise<number> {
    const at = new Date(store.clock.now);
    const context: DeliveryContext = {
      task: taskState(taskId, at),
      file: null,
      transition: null,
      at,
    };
    const [row] = await store.db.transaction((em) =>
      store.db.query<{ id: number }>(
        em,
        deliverySql.insert({
          callbackId: null,
          taskId,
          eventType: 'STALLED',
          status: 'pending',
          now: store.clock.now,
          context: JSON.stringify(context),
        }),
      ),
    );
    if (over.nextAttemptAt !== undefined) {
      await store.query('UPDATE recording_deliveries SET next_attempt_at = ? WHERE id = ?', [
        over.nextAttemptAt,
        row.id,
      ]);
    }
    return Number(row.id);
  }

  const statusOf = async (id: number) =>
    (
      await store.query<{ status: string; lease_owner: string | null }>(
        'SELECT status, lease_owner FROM recording_deliveries WHERE id = ?',
        [id],
      )
    )[0];

  it('does nothing before the app started, then finds stored deliveries on bootstrap', async () => {
    await start();
    const seen = registry.on(RecordingEvents.Stalled, 'A.onStall');
    const id = await pending('t1');
    await scheduler.kick('t1');
    await scheduler.poll();
    expect(seen).toHaveLength(0);
    scheduler.onApplicationBootstrap();
    expect(registry.scans).toBe(1);
    await until(async () => (await statusOf(id)).status === 'delivered');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(TaskStalledEvent);
  });

  it('with delivery.run false runs nothing, even after bootstrap', async () => {
    await start({ run: false });
    const seen = registry.on(RecordingEvents.Stalled, 'A.onStall');
    const id = await pending('t1');
    scheduler.onApplicationBootstrap();
    await scheduler.poll();
    await scheduler.kick('t1');
    expect(seen).toHaveLength(0);
    expect(await statusOf(id)).toEqual({ status: 'pending', lease_owner: null });
    expect(scheduler.started).toBe(false);
  });

  it("runs a task's deliveries in stored order, one at a time", async () => {
    await start();
    const order: string[] = [];
    const first = latch();
    registry.on(RecordingEvents.Stalled, 'A.onStall', async (p) => {
      const e = p as TaskStalledEvent;
      order.push(`start ${e.stalledAt.getTime()}`);
      if (order.length === 1) await first.promise;
      order.push(`end ${e.stalledAt.getTime()}`);
    });
    scheduler.onApplicationBootstrap();
    const t0 = store.clock.now;
    const a = await pending('t1');
    store.clock.now += 1;
    const b = await pending('t1');
    const run = scheduler.kick('t1');
    await until(() => order.length === 1);
    // The second may not start while the first runs, even when asked again.
    void scheduler.kick('t1');
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([`start ${t0}`]);
    expect((await statusOf(b)).lease_owner).toBeNull();
    first.release();
    await run;
    expect(order).toEqual([`start ${t0}`, `end ${t0}`, `start ${t0 + 1}`, `end ${t0 + 1}`]);
    expect((await statusOf(a)).status).toBe('delivered');
    expect((await statusOf(b)).status).toBe('delivered');
  });

  it('leaves a delivery in backoff alone until the clock reaches its next attempt', async () => {
    await start();
    const seen = registry.on(RecordingEvents.Stalled, 'A.onStall');
    scheduler.onApplicationBootstrap();
    await scheduler.poll();
    const id = await pending('t1', { nextAttemptAt: store.clock.now + 5000 });
    await scheduler.poll();
    await scheduler.kick('t1');
    expect(seen).toHaveLength(0);
    expect((await statusOf(id)).status).toBe('pending');
    store.clock.now += 5000;
    await scheduler.poll();
    expect(seen).toHaveLength(1);
    expect((await statusOf(id)).status).toBe('delivered');
  });

  it("takes over another instance's delivery only once its lease expired", async () => {
    await start();
    const seen = registry.on(RecordingEvents.Stalled, 'A.onStall');
    scheduler.onApplicationBootstrap();
    await scheduler.poll();
    const id = await pending('t1');
    await store.query(`UPDATE recording_deliveries SET lease_owner = 'other', lease_until = ? WHERE id = ?`, [
      store.clock.now + 1000,
      id,
    ]);
    await scheduler.poll();
    await scheduler.kick('t1');
    expect(seen).toHaveLength(0);
    store.clock.now += 1001;
    await scheduler.poll();
    expect(seen).toHaveLength(1);
    expect((await statusOf(id)).status).toBe('delivered');
  });

  it('runs at most `concurrency` deliveries at once across tasks', async () => {
    await start({ concurrency: 2 });
    let running = 0;
    let most = 0;
    const gate = latch();
    registry.on(RecordingEvents.Stalled, 'A.onStall', async () => {
      running++;
      most = Math.max(most, running);
      await gate.promise;
      running--;
    });
    scheduler.onApplicationBootstrap();
    await scheduler.poll();
    for (const t of ['t1', 't2', 't3', 't4', 't5']) await pending(t);
    const polled = scheduler.poll();
    await until(() => running === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(running).toBe(2);
    gate.release();
    await polled;
    expect(most).toBe(2);
    const rows = await store.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM recording_deliveries WHERE status = 'delivered'`,
    );
    expect(Number(rows[0].n)).toBe(5);
  });

  it('on shutdown lets a running delivery finish within the grace, claims nothing new, and frees abandoned leases', async () => {
    await start({ shutdownGraceMs: 200 });
    const hold = latch();
    const started: string[] = [];
    registry.on(RecordingEvents.Stalled, 'A.onStall', async (p) => {
      started.push((p as TaskStalledEvent).taskId);
      if ((p as TaskStalledEvent).taskId === 'stuck') await hold.promise;
    });
    scheduler.onApplicationBootstrap();
    await scheduler.poll();
    const stuck = await pending('stuck');
    void scheduler.kick('stuck');
    await until(() => started.length === 1);
    expect((await statusOf(stuck)).lease_owner).toBe(scheduler.instanceId);

    await scheduler.beforeApplicationShutdown();
    // The grace ran out with the handler still running: its lease is free for another instance.
    expect((await statusOf(stuck)).lease_owner).toBeNull();
    const later = await pending('later');
    await scheduler.kick('later');
    await scheduler.poll();
    expect(started).toEqual(['stuck']);
    expect((await statusOf(later)).status).toBe('pending');
    hold.release();
  });

  it('on shutdown waits for a running delivery that finishes within the grace, and no longer', async () => {
    await start({ shutdownGraceMs: 120_000 });
    const hold = latch();
    registry.on(RecordingEvents.Stalled, 'A.onStall', () => hold.promise);
    scheduler.onApplicationBootstrap();
    await scheduler.poll();
    const id = await pending('t1');
    void scheduler.kick('t1');
    await until(async () => (await statusOf(id)).lease_owner !== null);
    let closed = false;
    const closing = scheduler.beforeApplicationShutdown().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    hold.release();
    // Done once the delivery is: far sooner than the two-minute grace, on any machine.
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    expect(closed).toBe(true);
    expect((await statusOf(id)).status).toBe('delivered');
  });
});
