import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { recoveryKeyOf } from '../src/recording-callback';
import { planReconciliation } from '../src/recording-callback/reconcile/reconcile-plan';
import { RecoveryStore } from '../src/recording-callback/reconcile/recovery.store';
import { eventBody, sign } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { postCallback } from './support/e2e-helpers';
import { FakeHuaweiLive } from './support/fake-huawei-live';
import { closeApp } from './support/start-app';
import {
  LIVE_ACCOUNT,
  RecoveryProbe,
  countRows,
  deliveriesSettled,
  listedFile,
  postReconcile,
  startReconcileApp,
} from './support/reconcile-app';

const RECOVERED_FILES = `SELECT COUNT(*) AS n FROM recording_files WHERE source = 'reconciled'`;
const RECOVERY_DELIVERIES = `SELECT COUNT(*) AS n FROM recording_deliveries WHERE event_type = 'RECOVERED'`;
const RUNS = `SELECT COUNT(*) AS n FROM recording_reconcile_runs`;

describe.each(DATABASE_KINDS)('reconciliation against the fake Huawei Live API (%s)', (kind) => {
  let db: TestDatabase;
  let live: FakeHuaweiLive;
  let app: NestExpressApplication | undefined;
  let other: NestExpressApplication | undefined;
  // Files recorded in the last four hours, so the default 6-hour window holds them.
  const base = Date.now() - 4 * 3600_000;

  beforeEach(async () => {
    db = await createTestDatabase(kind);
    live = await FakeHuaweiLive.start(LIVE_ACCOUNT);
  });
  afterEach(async () => {
    await closeApp(app);
    await closeApp(other);
    app = other = undefined;
    await live.close();
    await db.drop();
  });

  /** A RECORD_FILE_COMPLETE of task t1 for the listed file `minute` of stream `s1`. */
  const completeOf = (taskId: string, jobId: string, minute: number) => {
    const f = listedFile('s1', minute, base);
    return sign(
      eventBody(taskId, 'RECORD_FILE_COMPLETE', jobId, 'HLS', {
        stream: 's1',
        download_url: f.download_url,
        start_time: f.start_time,
        end_time: f.end_time,
      }),
    );
  };

  it('recovers exactly the three files recorded while the app was down, one recording.file.recovered each, across a restart', async () => {
    app = await startReconcileApp(db, live);
    await postCallback(app, sign(eventBody('t1', 'RECORD_START', undefined, 'HLS', { stream: 's1' }))).expect(200);
    await postCallback(app, completeOf('t1', 'j0', 0)).expect(200);
    // Huawei records four files; the callbacks of the last three never arrive (the app was down).
    live.contents = [0, 10, 20, 30].map((m) => listedFile('s1', m, base));

    const res = await postReconcile(app, {}).expect(200);
    // t1 is still RECORDING, but Huawei's last file of its stream ended over 3 hours (the stall time) ago.
    expect(res.body).toEqual({ listed: 4, matched: 1, recovered: 3, stalled: 1, errors: [] });
    await deliveriesSettled(app);
    const probe = app.get(RecoveryProbe);
    expect(probe.recovered.map((e) => e.item.download_url).sort()).toEqual(
      [10, 20, 30].map((m) => listedFile('s1', m, base).download_url).sort(),
    );
    // They joined the RECORDING task of their stream, complete, marked as reconciled.
    expect(probe.recovered.every((e) => e.task.taskId === 't1' && !e.synthetic)).toBe(true);
    expect(probe.recovered.every((e) => e.file.status === 'COMPLETE' && e.file.recordDuration === 600)).toBe(true);
    const task = await request(app.getHttpServer()).get('/recording-tasks/t1').expect(200);
    expect(task.body.files).toHaveLength(4);

    // Restarted, the app runs the window again: nothing new is stored or delivered.
    await closeApp(app);
    app = await startReconcileApp(db, live);
    const again = await postReconcile(app, {}).expect(200);
    expect(again.body).toEqual({ listed: 4, matched: 4, recovered: 0, stalled: 1, errors: [] });
    await deliveriesSettled(app);
    expect(app.get(RecoveryProbe).recovered).toEqual([]);
    expect(await countRows(app, RECOVERED_FILES)).toBe(3);
    expect(await countRows(app, RECOVERY_DELIVERIES)).toBe(3);
  });

  it('stores a file no task covers in the synthetic task of its stream', async () => {
    app = await startReconcileApp(db, live);
    live.contents = [listedFile('s2', 0, base), listedFile('s2', 10, base)];
    expect((await postReconcile(app).expect(200)).body).toMatchObject({ recovered: 2 });
    await deliveriesSettled(app);
    const [first] = app.get(RecoveryProbe).recovered;
    expect(first.synthetic).toBe(true);
    expect(first.task.taskId).toMatch(/^reconciled-[0-9a-f]{32}$/);
    const task = await request(app.getHttpServer()).get(`/recording-tasks/${first.task.taskId}`).expect(200);
    expect(task.body).toMatchObject({ publishDomain: 'push.example.com', app: 'live', stream: 's2', status: 'OVER' });
    expect(task.body.files).toHaveLength(2);
  });

  it('two instances reconciling at once: one answers 409 while the other holds the window; each file once', async () => {
    app = await startReconcileApp(db, live);
    other = await startReconcileApp(db, live);
    live.contents = [0, 10, 20].map((m) => listedFile('s3', m, base));
    let second: number | undefined;
    // While the first run lists its first page, the other instance asks for the same window.
    live.beforeAnswer = async () => {
      live.beforeAnswer = undefined;
      second = (await postReconcile(other!, {})).status;
    };
    const first = await postReconcile(app, {}).expect(200);
    expect(second).toBe(409);
    expect(first.body.recovered).toBe(3);
    // Afterwards the other instance finds everything stored.
    expect((await postReconcile(other, {}).expect(200)).body).toMatchObject({ recovered: 0, matched: 3 });
    await deliveriesSettled(app);
    const events = [...app.get(RecoveryProbe).recovered, ...other.get(RecoveryProbe).recovered];
    expect(events.map((e) => e.recoveryKey).sort()).toEqual(live.contents.map((i) => recoveryKeyOf(i)!).sort());
  });

  it('a file two runs planned before either stored it is stored and delivered once (the recovery key)', async () => {
    app = await startReconcileApp(db, live);
    const item = listedFile('s6', 0, base);
    const [recovery] = planReconciliation([item], [], [], {
      now: new Date(),
      stallAfterMs: 3600_000,
      accepts: () => true,
    }).recover;
    const store = app.get(RecoveryStore, { strict: false });
    const stored = await Promise.all([store.recover(recovery, 1, new Date()), store.recover(recovery, 2, new Date())]);
    expect(stored.sort()).toEqual([false, true]);
    await deliveriesSettled(app);
    expect(app.get(RecoveryProbe).recovered).toHaveLength(1);
    expect(await countRows(app, RECOVERY_DELIVERIES)).toBe(1);
  });

  it('a late RECORD_FILE_COMPLETE after recovery is stored, and its event names the recovered file', async () => {
    app = await startReconcileApp(db, live);
    live.contents = [listedFile('s1', 0, base)];
    await postReconcile(app, {}).expect(200);
    await deliveriesSettled(app);
    const [recovered] = app.get(RecoveryProbe).recovered;

    await postCallback(app, completeOf('t9', 'j9', 0)).expect(200);
    await deliveriesSettled(app);
    const [complete] = app.get(RecoveryProbe).completed;
    expect(complete.file.jobId).toBe('j9');
    expect(complete.recovered).toEqual({
      taskId: recovered.task.taskId,
      jobId: recovered.file.jobId,
      recoveryKey: recovered.recoveryKey,
    });
    // A file the app never recovered carries no such mark.
    await postCallback(app, completeOf('t9', 'j10', 10)).expect(200);
    await deliveriesSettled(app);
    expect(app.get(RecoveryProbe).completed[1].recovered).toBeNull();
    // And the next run recovers nothing again.
    expect((await postReconcile(app, {}).expect(200)).body).toMatchObject({ recovered: 0, matched: 1 });
  });

  it('pages through a listing of several pages', async () => {
    app = await startReconcileApp(db, live);
    live.contents = Array.from({ length: 205 }, (_, n) =>
      listedFile(`p${n % 7}`, n % 50, base, {
        download_url: `https://rec.obs/record/p/${n}.m3u8`,
      }),
    );
    const res = await postReconcile(app, {}).expect(200);
    expect(res.body).toMatchObject({ listed: 205, matched: 0, recovered: 205, errors: [] });
    expect(live.contentRequests().map((r) => r.query.offset)).toEqual(['0', '1', '2']);
    expect(await countRows(app, RECOVERED_FILES)).toBe(205);
    await deliveriesSettled(app);
    expect(app.get(RecoveryProbe).recovered).toHaveLength(205);
  });

  it('a page failing mid-run stores nothing; the run is recorded as failed; a later run stores each file once', async () => {
    app = await startReconcileApp(db, live);
    live.contents = Array.from({ length: 150 }, (_, n) => listedFile('s4', n, base));
    live.faults.push({ endpoint: 'contents', page: 1, status: 503, times: 4 });
    const failed = await postReconcile(app, {}).expect(200);
    expect(failed.body).toMatchObject({ listed: 0, recovered: 0 });
    expect(failed.body.errors.join(' ')).toContain('503');
    expect(await countRows(app, RECOVERED_FILES)).toBe(0);
    expect(await countRows(app, RECOVERY_DELIVERIES)).toBe(0);
    expect(await countRows(app, `SELECT COUNT(*) AS n FROM recording_reconcile_runs WHERE status = 'failed'`)).toBe(1);

    // Throttled once, the next run retries the page and completes.
    live.faults.push({ endpoint: 'contents', page: 1, status: 429 });
    const ok = await postReconcile(app, {}).expect(200);
    expect(ok.body).toMatchObject({ listed: 150, recovered: 150, errors: [] });
    expect(live.contentRequests().filter((r) => r.status === 429)).toHaveLength(1);
    await deliveriesSettled(app);
    expect(app.get(RecoveryProbe).recovered).toHaveLength(150);
    expect(await countRows(app, RECOVERY_DELIVERIES)).toBe(150);
  });

  it('a dry run says what it would recover and changes nothing', async () => {
    app = await startReconcileApp(db, live);
    live.contents = [0, 10, 20].map((m) => listedFile('s5', m, base));
    const res = await postReconcile(app, { dryRun: true, sinceSeconds: 5 * 3600 }).expect(200);
    expect(res.body).toEqual({ listed: 3, matched: 0, recovered: 3, stalled: 0, errors: [] });
    expect(await countRows(app, RECOVERED_FILES)).toBe(0);
    expect(await countRows(app, RUNS)).toBe(0);
    expect(await countRows(app, `SELECT COUNT(*) AS n FROM recording_tasks`)).toBe(0);
    expect(await countRows(app, `SELECT COUNT(*) AS n FROM recording_deliveries`)).toBe(0);
  });

  it('asks Huawei for the requested window only', async () => {
    app = await startReconcileApp(db, live);
    const before = Date.now();
    await postReconcile(app, { sinceSeconds: 600, dryRun: true }).expect(200);
    const [query] = live.contentRequests().map((r) => r.query);
    const start = Date.parse(query.start_time);
    expect(start).toBeGreaterThanOrEqual(Math.floor((before - 600_000) / 1000) * 1000 - 1000);
    expect(Date.parse(query.end_time)).toBeGreaterThan(start + 590_000);
    expect(query.start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('answers 400 for invalid fields, 404 when not enabled, 403 without an operations guard', async () => {
    app = await startReconcileApp(db, live);
    const bad = await postReconcile(app, { sinceSeconds: 5, dryRun: 'yes', extra: 1 }).expect(400);
    expect(Object.keys(bad.body.fields).sort()).toEqual(['dryRun', 'extra', 'sinceSeconds']);
    await closeApp(app);
    app = await startReconcileApp(db, live, {}, { reconcile: undefined });
    expect((await postReconcile(app, {}).expect(404)).body.message).toContain('not enabled');
    await closeApp(app);
    app = await startReconcileApp(db, live, {}, { operationGuards: [] });
    await postReconcile(app, {}).expect(403);
    expect(live.requests).toHaveLength(0);
  });
});
