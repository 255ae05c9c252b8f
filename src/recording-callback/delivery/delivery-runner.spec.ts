import { FakeRegistry, latch, openUnitStore, taskState } from '../../../test/support/unit-store';
import type { UnitStore } from '../../../test/support/unit-store';
import { RecordingEventType } from '../protocol/recording-event-type';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { TaskStatus } from '../tasks/task-status';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import type { DeliveryOutcome } from '../telemetry/recording-telemetry';
import type { DeliveryContext } from './delivery-context';
import { DeliveryRunner } from './delivery-runner';
import { deliverySql } from './delivery.sql';
import type { DeliveryRow } from './delivery.sql';
import { DeliveryDeadEvent, RecordingCallbackEvent, RecordingEvents, TaskStatusChangedEvent } from './recording-events';

const OWNER = 'runner-spec';
const BASE = 1000;

function overCallback(taskId: string): RecordingCallbackDto {
  return {
    task_id: taskId,
    event_type: RecordingEventType.Over,
    publish_domain: 'push.example.com',
    app: 'live',
    stream: 's',
    project_id: 'p',
  } as RecordingCallbackDto;
}

describe('DeliveryRunner', () => {
  let store: UnitStore;
  let registry: FakeRegistry;
  let outcomes: DeliveryOutcome[];
  let runner: DeliveryRunner;

  beforeEach(async () => {
    store = await openUnitStore({ baseDelayMs: BASE, maxDelayMs: 60_000, maxAttempts: 3, handlerTimeoutMs: 100 });
    registry = new FakeRegistry();
    const telemetry = new RecordingTelemetry();
    outcomes = [];
    telemetry.addListener({ onDelivery: (o) => outcomes.push(o) });
    runner = new DeliveryRunner(store.db, registry, store.options, telemetry);
  });
  afterEach(() => store.close());

  /** Stores a delivery of a RECORD_OVER callback leased to OWNER, as the outbox does, and returns its row. */
  async function claimed(taskId: string, over: Partial<DeliveryRow> = {}, withCallback = true): Promise<DeliveryRow> {
    const at = new Date(store.clock.now);
    const context: DeliveryContext = {
      task: taskState(taskId, at, RecordingEventType.Over),
      file: null,
      transition: {
        fromStatus: TaskStatus.Recording,
        toStatus: TaskStatus.Over,
        eventType: RecordingEventType.Over,
        jobId: null,
      },
      at,
    };
    const callbackId = 7;
    const [row] = await store.db.transaction((em) =>
      store.db.query<{ id: number; lease_owner: string | null }>(
        em,
        deliverySql.insert(
          {
            callbackId,
            taskId,
            eventType: 'RECORD_OVER',
            status: 'pending',
            now: store.clock.now,
            context: JSON.stringify(context),
          },
          { owner: OWNER, leaseUntil: store.clock.now + 60_000 },
        ),
      ),
    );
    expect(row.lease_owner).toBe(OWNER);
    return {
      id: Number(row.id),
      callbackId,
      taskId,
      eventType: 'RECORD_OVER',
      attempts: 0,
      succeeded: [],
      context,
      callback: withCallback ? overCallback(taskId) : undefined,
      ...over,
    };
  }

  const stored = async (id: number) =>
    (await store.query<Record<string, unknown>>('SELECT * FROM recording_deliveries WHERE id = ?', [id]))[0];

  it('calls every handler of the event and of the status change, then records delivered and frees the lease', async () => {
    const over = registry.on(RecordingEvents.Over, 'A.onOver');
    const changed = registry.on(RecordingEvents.StatusChanged, 'A.onChange');
    const row = await claimed('t1');

    expect(await runner.run(row, OWNER)).toBe('delivered');

    expect(over).toHaveLength(1);
    expect(over[0]).toBeInstanceOf(RecordingCallbackEvent);
    expect(over[0]).toMatchObject({ callbackId: 7, attempt: 1, task: { taskId: 't1', status: 'OVER' } });
    expect(changed).toHaveLength(1);
    expect(changed[0]).toBeInstanceOf(TaskStatusChangedEvent);
    expect(changed[0]).toMatchObject({ transition: { fromStatus: 'RECORDING', toStatus: 'OVER' } });
    const r = await stored(row.id);
    expect(r).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lease_owner: null,
      lease_until: null,
      last_error: null,
    });
    expect(JSON.parse(String(r.succeeded_handlers))).toEqual([
      'A.onOver@recording.over',
      'A.onChange@recording.status-changed',
    ]);
    expect(outcomes).toEqual([expect.objectContaining({ deliveryId: row.id, outcome: 'delivered', attempt: 1 })]);
  });

  it('records a failure with its error and the backoff, keeps the handlers that succeeded, and skips them next time', async () => {
    const good = registry.on(RecordingEvents.Over, 'A.good');
    let fail = true;
    const bad = registry.on(RecordingEvents.Over, 'B.bad', () => {
      if (fail) throw new Error('archive down');
    });
    const row = await claimed('t2');

    expect(await runner.run(row, OWNER)).toBe('failed');
    const r = await stored(row.id);
    expect(r).toMatchObject({ status: 'failed', attempts: 1, lease_owner: null });
    expect(r.last_error).toBe('B.bad@recording.over: archive down');
    // First retry: full jitter between half and all of baseDelayMs.
    const delay = Number(r.next_attempt_at) - store.clock.now;
    expect(delay).toBeGreaterThanOrEqual(BASE / 2);
    expect(delay).toBeLessThanOrEqual(BASE);
    expect(JSON.parse(String(r.succeeded_handlers))).toEqual(['A.good@recording.over']);

    fail = false;
    store.clock.now += BASE;
    await store.db.transaction((em) =>
      store.db.query(em, deliverySql.claimNext('t2', OWNER, store.clock.now, store.clock.now + 60_000)),
    );
    const again = { ...row, attempts: 1, succeeded: JSON.parse(String(r.succeeded_handlers)) as string[] };
    expect(await runner.run(again, OWNER)).toBe('delivered');
    expect(good).toHaveLength(1);
    expect(bad).toHaveLength(2);
    expect((bad[1] as RecordingCallbackEvent).attempt).toBe(2);
  });

  it('counts a handler slower than handlerTimeoutMs as failed', async () => {
    const hold = latch();
    registry.on(RecordingEvents.Over, 'A.slow', () => hold.promise);
    const row = await claimed('t3');
    expect(await runner.run(row, OWNER)).toBe('failed');
    expect((await stored(row.id)).last_error).toBe('A.slow@recording.over: handler timed out after 100 ms');
    hold.release();
  });

  it('makes the last attempt dead and hands a DeliveryDeadEvent to the dead-letter handlers', async () => {
    registry.on(RecordingEvents.Over, 'A.bad', () => {
      throw new Error('nope');
    });
    const dead = registry.on(RecordingEvents.DeliveryDead, 'Ops.onDead', () => {
      throw new Error('a failing dead-letter handler changes nothing');
    });
    const row = await claimed('t4', { attempts: 2 });
    expect(await runner.run(row, OWNER)).toBe('dead');
    expect(await stored(row.id)).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead).toHaveLength(1);
    expect(dead[0]).toBeInstanceOf(DeliveryDeadEvent);
    expect(dead[0]).toMatchObject({
      deliveryId: row.id,
      callbackId: 7,
      taskId: 't4',
      attempts: 3,
      lastError: 'A.bad@recording.over: nope',
    });
  });

  it('a failure before the last attempt is not dead and calls no dead-letter handler', async () => {
    registry.on(RecordingEvents.Over, 'A.bad', () => {
      throw new Error('nope');
    });
    const dead = registry.on(RecordingEvents.DeliveryDead, 'Ops.onDead');
    const row = await claimed('t5', { attempts: 1 });
    expect(await runner.run(row, OWNER)).toBe('failed');
    expect(dead).toHaveLength(0);
  });

  it('records nothing when another instance took the lease meanwhile', async () => {
    registry.on(RecordingEvents.Over, 'A.onOver');
    const row = await claimed('t6');
    await store.query(`UPDATE recording_deliveries SET lease_owner = 'other' WHERE id = ?`, [row.id]);
    expect(await runner.run(row, OWNER)).toBeUndefined();
    expect(await stored(row.id)).toMatchObject({ status: 'pending', attempts: 0, lease_owner: 'other' });
    expect(outcomes).toEqual([]);
  });

  it('rebuilds the payload from the stored callback when it is not in memory', async () => {
    const over = registry.on(RecordingEvents.Over, 'A.onOver');
    const row = await claimed('t7', {}, false);
    await store.query(
      `INSERT INTO recording_callbacks (id, dedupe_key, task_id, event_type, job_id, publish_domain, payload, received_at)
       VALUES (7, 'k7', 't7', 'RECORD_OVER', NULL, 'push.example.com', ?, '2026-01-01 00:00:00.000')`,
      [JSON.stringify({ ...overCallback('t7'), stream: 'from-the-database' })],
    );
    expect(await runner.run(row, OWNER)).toBe('delivered');
    expect((over[0] as RecordingCallbackEvent).callback).toMatchObject({ task_id: 't7', stream: 'from-the-database' });
  });
});
