// The stalled-task watchdog in one app with a controllable clock (two instances checking at once:
// delivery-restart.e2e-spec.ts).
import request from 'supertest';
import { StalledTaskWatchdog } from '../src/recording-callback';
import { eventBody, startBody } from './support/callbacks';
import { DATABASE_KINDS } from './support/databases';
import { TASKS_PATH } from './support/e2e-helpers';
import { deliveryHarness } from './support/delivery-app';

describe.each(DATABASE_KINDS)('stalled-task watchdog (%s)', (kind) => {
  const { launch, post, deliveries, settled, nothingScheduled } = deliveryHarness(kind);

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
});
