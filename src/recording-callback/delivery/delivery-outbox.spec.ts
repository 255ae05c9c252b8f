import { FakeRegistry, openUnitStore, taskState, until } from '../../../test/support/unit-store';
import type { UnitStore } from '../../../test/support/unit-store';
import { startBody } from '../../../test/support/callbacks';
import { parseRecordingCallback } from '../protocol/parse-callback';
import { RecordingEventType } from '../protocol/recording-event-type';
import { TaskStatus } from '../tasks/task-status';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import type { DeliveryContext } from './delivery-context';
import { DeliveryOutbox } from './delivery-outbox';
import type { NewDelivery, StoredDelivery } from './delivery-outbox';
import { DeliveryRunner } from './delivery-runner';
import { DeliveryScheduler } from './delivery-scheduler';
import { RecordingEvents } from './recording-events';

describe('DeliveryOutbox', () => {
  let store: UnitStore;
  let registry: FakeRegistry;
  let scheduler: DeliveryScheduler;
  let outbox: DeliveryOutbox;

  beforeEach(() => wire());
  async function wire(delivery: { pollIntervalMs?: number } = {}): Promise<void> {
    store = await openUnitStore({ leaseMs: 60_000, ...delivery });
    registry = new FakeRegistry();
    const runner = new DeliveryRunner(store.db, registry, store.options, new RecordingTelemetry());
    scheduler = new DeliveryScheduler(store.db, runner, registry, store.options);
    outbox = new DeliveryOutbox(store.db, scheduler, registry, store.options);
  }
  afterEach(() => store.close());

  let nextCallbackId = 1;
  /** A RECORD_START delivery whose callback is stored too, as ingest leaves it. */
  async function startDelivery(taskId: string): Promise<NewDelivery> {
    const callbackId = nextCallbackId++;
    const body = startBody(taskId);
    const parsed = parseRecordingCallback(body);
    if (!parsed.ok) throw new Error('fixture does not validate');
    await store.query(
      `INSERT INTO recording_callbacks (id, dedupe_key, task_id, event_type, publish_domain, payload, received_at)
       VALUES (?, ?, ?, 'RECORD_START', 'push.example.com', ?, '2026-01-01 00:00:00.000')`,
      [callbackId, `k${callbackId}`, taskId, JSON.stringify(body)],
    );
    const at = new Date(store.clock.now);
    const context: DeliveryContext = {
      task: taskState(taskId, at),
      file: null,
      transition: {
        fromStatus: null,
        toStatus: TaskStatus.Recording,
        eventType: RecordingEventType.Start,
        jobId: null,
      },
      at,
    };
    return { callbackId, taskId, eventType: 'RECORD_START', context, callback: parsed.dto };
  }

  const store1 = (d: NewDelivery) => store.db.transaction((em) => outbox.store(em, d));
  const rows = () =>
    store.query<{ id: number; status: string; lease_owner: string | null; callback_id: number | null }>(
      'SELECT id, status, lease_owner, callback_id FROM recording_deliveries ORDER BY id',
    );

  it('before the app started: stores the delivery pending and unclaimed, whatever listens', async () => {
    const stored = await store1(await startDelivery('t1'));
    expect(stored).toEqual({ state: 'pending', taskId: 't1' });
    expect(await rows()).toEqual([expect.objectContaining({ status: 'pending', lease_owner: null })]);
  });

  it('records a delivery nobody listens to as delivered, and hands over nothing', async () => {
    registry.on(RecordingEvents.Over, 'A.onlyOver');
    scheduler.onApplicationBootstrap();
    const stored = await store1(await startDelivery('t1'));
    expect(stored).toEqual({ state: 'delivered' });
    await outbox.handOver(stored);
    expect(await rows()).toEqual([expect.objectContaining({ status: 'delivered', lease_owner: null })]);
  });

  it('counts a listener of the status change as listening', async () => {
    registry.on(RecordingEvents.StatusChanged, 'A.onChange');
    scheduler.onApplicationBootstrap();
    expect((await store1(await startDelivery('t1'))).state).toBe('claimed');
  });

  it('claims the only open delivery of a task in the insert, and runs it on hand-over with the callback in memory', async () => {
    const seen = registry.on(RecordingEvents.Start, 'A.onStart');
    scheduler.onApplicationBootstrap();
    const d = await startDelivery('t1');
    const stored = await store1(d);
    expect(stored.state).toBe('claimed');
    const row = (stored as Extract<StoredDelivery, { state: 'claimed' }>).row;
    expect(row).toMatchObject({
      taskId: 't1',
      callbackId: d.callbackId,
      attempts: 0,
      succeeded: [],
      callback: d.callback,
    });
    expect(await rows()).toEqual([expect.objectContaining({ id: row.id, lease_owner: scheduler.instanceId })]);
    await outbox.handOver(stored);
    expect(seen).toHaveLength(1);
    expect((seen[0] as { callback: unknown }).callback).toBe(d.callback);
    expect(await rows()).toEqual([expect.objectContaining({ status: 'delivered', lease_owner: null })]);
  });

  it("leaves a task's later delivery unclaimed behind an open one, and its hand-over runs both in order", async () => {
    const seen = registry.on(RecordingEvents.Start, 'A.onStart');
    scheduler.onApplicationBootstrap();
    const first = await startDelivery('t1');
    const second = await startDelivery('t1');
    const a = await store1(first);
    const b = await store1(second);
    expect(a.state).toBe('claimed');
    expect(b).toEqual({ state: 'pending', taskId: 't1' });
    expect((await rows()).map((r) => r.lease_owner)).toEqual([scheduler.instanceId, null]);
    await outbox.handOver(b);
    await outbox.handOver(a);
    await until(async () => (await rows()).every((r) => r.status === 'delivered'));
    expect(seen.map((e) => (e as { callbackId: number }).callbackId)).toEqual([first.callbackId, second.callbackId]);
  });

  it('stores a batch in one statement, in order, claiming only the first delivery of each task', async () => {
    registry.on(RecordingEvents.Start, 'A.onStart');
    scheduler.onApplicationBootstrap();
    const list = [await startDelivery('t1'), await startDelivery('t2'), await startDelivery('t1')];
    const stored = await store.db.transaction((em) => outbox.storeAll(em, list));
    expect(stored.map((s) => s.state)).toEqual(['claimed', 'claimed', 'pending']);
    const claimed = stored.filter((s): s is Extract<StoredDelivery, { state: 'claimed' }> => s.state === 'claimed');
    expect(claimed.map((s) => [s.row.taskId, s.row.callbackId])).toEqual([
      ['t1', list[0].callbackId],
      ['t2', list[1].callbackId],
    ]);
    expect((await rows()).map((r) => [r.callback_id, r.lease_owner])).toEqual([
      [list[0].callbackId, scheduler.instanceId],
      [list[1].callbackId, scheduler.instanceId],
      [list[2].callbackId, null],
    ]);
  });

  it.each([
    [3_600_000, 0],
    [0, 1],
  ])(
    'with pollIntervalMs %d, a task loop after a delivery claimed at ingest runs %d claim transaction(s)',
    async (pollIntervalMs, claims) => {
      // With polling on, the poll would take what another instance stored meanwhile, so the loop ends
      // without the claim that finds nothing; with polling off it must look.
      await store.close();
      await wire({ pollIntervalMs });
      registry.on(RecordingEvents.Start, 'A.onStart');
      scheduler.onApplicationBootstrap();
      const stored = await store1(await startDelivery('t1'));
      let transactions = 0;
      const transaction = store.db.transaction.bind(store.db);
      store.db.transaction = ((work) => (transactions++, transaction(work))) as typeof store.db.transaction;
      await outbox.handOver(stored);
      await scheduler.beforeApplicationShutdown();
      expect(await rows()).toEqual([expect.objectContaining({ status: 'delivered', lease_owner: null })]);
      // The outcome is one statement on its own; a claim is a transaction.
      expect(transactions).toBe(claims);
    },
  );

  it('stores nothing when the caller’s transaction rolls back', async () => {
    registry.on(RecordingEvents.Start, 'A.onStart');
    scheduler.onApplicationBootstrap();
    const d = await startDelivery('t1');
    await expect(
      store.db.transaction(async (em) => {
        await outbox.store(em, d);
        throw new Error('the callback could not be stored');
      }),
    ).rejects.toThrow('the callback could not be stored');
    expect(await rows()).toEqual([]);
  });

  it('claims nothing once shutdown began: the delivery waits in the database for another instance', async () => {
    registry.on(RecordingEvents.Start, 'A.onStart');
    scheduler.onApplicationBootstrap();
    await scheduler.beforeApplicationShutdown();
    const stored = await store1(await startDelivery('t1'));
    expect(stored).toEqual({ state: 'pending', taskId: 't1' });
    await outbox.handOver(stored);
    expect(await rows()).toEqual([expect.objectContaining({ status: 'pending', lease_owner: null })]);
  });
});
