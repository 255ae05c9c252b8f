// Durable delivery to @OnEvent handlers: per-handler retries, dead letters, per-task order, and no work
// for callbacks nobody listens to. The listing/replay API, the watchdog and shutdown have their own specs
// on the same harness (test/support/delivery-app.ts).
import request from 'supertest';
import { RecordingEvents } from '../src/recording-callback';
import { eventBody, eventually, sign, startBody } from './support/callbacks';
import { DATABASE_KINDS } from './support/databases';
import { CALLBACK_PATH, ISO_UTC, storedCallbacks } from './support/e2e-helpers';
import { DELIVERIES, FileCompleteOnlyHandlers, deliveryHarness } from './support/delivery-app';

describe.each(DATABASE_KINDS)('durable delivery (%s)', (kind) => {
  const { launch, post, deliveries, settled, nothingScheduled } = deliveryHarness(kind);

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
});
