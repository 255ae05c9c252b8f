import { recoveryKeyOf } from '../protocol/live-api';
import type { RecordContentItem } from '../protocol/live-api';
import { planReconciliation, syntheticTaskId } from './reconcile-plan';
import type { KnownTask, PlanSettings, StoredFileRef } from './reconcile-plan';

const T0 = Date.UTC(2026, 11, 5, 10, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const STREAM = { publish_domain: 'push.example.com', app: 'live', stream: 's1' };

function item(minute: number, over: Partial<RecordContentItem> = {}): RecordContentItem {
  return {
    ...STREAM,
    record_format: 'HLS',
    download_url: `https://bucket.obs/live/s1-${minute}.m3u8`,
    start_time: iso(T0 + minute * 60_000),
    end_time: iso(T0 + (minute + 10) * 60_000),
    duration: 600,
    ...over,
  };
}

function task(over: Partial<KnownTask> = {}): KnownTask {
  return {
    taskId: 'task-1',
    publishDomain: STREAM.publish_domain,
    app: STREAM.app,
    stream: STREAM.stream,
    status: 'RECORDING',
    createdAt: new Date(T0 - 60_000),
    lastEventAt: new Date(T0),
    stalledAt: null,
    ...over,
  };
}

function file(minute: number, over: Partial<StoredFileRef> = {}): StoredFileRef {
  return {
    taskId: 'task-1',
    jobId: `job-${minute}`,
    recordFormat: 'HLS',
    downloadUrl: `https://bucket.obs/live/s1-${minute}.m3u8`,
    startTime: new Date(T0 + minute * 60_000),
    endTime: new Date(T0 + (minute + 10) * 60_000),
    recoveryKey: null,
    ...over,
  };
}

const settings: PlanSettings = { now: new Date(T0 + 3600_000), stallAfterMs: 3 * 3600_000, accepts: () => true };

describe('planReconciliation (listing item ↔ stored files and tasks)', () => {
  it('matches a stored file by its download URL and recovers the listed files the database lacks', () => {
    const plan = planReconciliation([item(0), item(10), item(20)], [file(0)], [task()], settings);
    expect(plan).toMatchObject({ listed: 3, matched: 1, errors: [] });
    expect(plan.recover.map((r) => r.item.download_url)).toEqual([item(10).download_url, item(20).download_url]);
    expect(plan.recover.every((r) => r.taskId === 'task-1' && !r.synthetic)).toBe(true);
  });

  it('matches by format and times (within the tolerance) when the URLs differ', () => {
    const moved = file(0, { downloadUrl: 'https://cdn.example.com/other.m3u8', startTime: new Date(T0 + 4000) });
    expect(planReconciliation([item(0)], [moved], [task()], settings).matched).toBe(1);
    const tooFar = file(0, { downloadUrl: 'https://cdn.example.com/other.m3u8', startTime: new Date(T0 + 6000) });
    expect(planReconciliation([item(0)], [tooFar], [task()], settings).recover).toHaveLength(1);
    const otherFormat = file(0, { downloadUrl: 'https://cdn.example.com/other.m3u8', recordFormat: 'MP4' });
    expect(planReconciliation([item(0)], [otherFormat], [task()], settings).recover).toHaveLength(1);
  });

  it('compares formats without regard to case (listing "hls", callback "HLS")', () => {
    const moved = file(0, { downloadUrl: null });
    expect(planReconciliation([item(0, { record_format: 'hls' })], [moved], [task()], settings).matched).toBe(1);
  });

  it('matches a file recovered earlier by its recovery key, so a second run recovers nothing', () => {
    const key = recoveryKeyOf(item(0))!;
    const recovered = file(0, { taskId: 'task-1', downloadUrl: null, startTime: null, recoveryKey: key });
    const plan = planReconciliation([item(0)], [recovered], [task()], settings);
    expect(plan).toMatchObject({ matched: 1, recover: [] });
  });

  it("puts a file no stored task covers into the stream's synthetic task, the same id every time", () => {
    const ended = task({ status: 'OVER', lastEventAt: new Date(T0 + 5 * 60_000) });
    const plan = planReconciliation([item(120)], [file(0)], [ended], settings);
    expect(plan.recover).toHaveLength(1);
    expect(plan.recover[0]).toMatchObject({
      synthetic: true,
      taskId: syntheticTaskId('push.example.com', 'live', 's1'),
    });
    expect(plan.recover[0].taskId).toMatch(/^reconciled-[0-9a-f]{32}$/);
    expect(syntheticTaskId('push.example.com', 'live', 's2')).not.toBe(plan.recover[0].taskId);
    expect(planReconciliation([item(1)], [], [], settings).recover[0].synthetic).toBe(true);
  });

  it('picks the task whose span covers the file when a stream had several', () => {
    const early = task({
      taskId: 'early',
      status: 'OVER',
      createdAt: new Date(T0 - 3600_000),
      lastEventAt: new Date(T0 - 1800_000),
    });
    const late = task({ taskId: 'late', createdAt: new Date(T0 + 50 * 60_000) });
    const plan = planReconciliation([item(-50), item(55)], [], [early, late], settings);
    expect(plan.recover.map((r) => r.taskId)).toEqual(['early', 'late']);
  });

  it('counts an item repeated by a listing that changed while it was paged once', () => {
    const plan = planReconciliation([item(0), item(10), item(10)], [], [task()], settings);
    expect(plan).toMatchObject({ listed: 2 });
    expect(plan.recover).toHaveLength(2);
  });

  it('skips files of domains the module takes no callbacks for, and reports items it cannot store', () => {
    const foreign = item(0, { publish_domain: 'push.other.com' });
    const noFormat = item(1, { record_format: '' });
    const noIdentity = item(2, { download_url: undefined, obs_addr: undefined });
    const tooLong = item(3, { download_url: `https://b/${'x'.repeat(2048)}` });
    const plan = planReconciliation([foreign, noFormat, noIdentity, tooLong, item(4)], [], [task()], {
      ...settings,
      accepts: (d) => d === 'push.example.com',
    });
    expect(plan.listed).toBe(1);
    expect(plan.recover.map((r) => r.item.download_url)).toEqual([item(4).download_url]);
    expect(plan.errors).toHaveLength(3);
    expect(plan.errors.join('\n')).toMatch(
      /record_format missing[\s\S]*neither download_url[\s\S]*download_url not a string/,
    );
  });

  it('keys a file without a download URL by its OBS object', () => {
    const obs = item(0, { download_url: undefined, obs_addr: { bucket: 'b', object: 'live/s1-0.m3u8' } });
    const [r] = planReconciliation([obs], [], [task()], settings).recover;
    expect(r.recoveryKey).toBe(recoveryKeyOf({ obs_bucket: 'b', obs_object: 'live/s1-0.m3u8' }));
    expect(r.jobId).toBe(`reconciled-${r.recoveryKey.slice(0, 32)}`);
  });

  it('reports RECORDING tasks that are flagged stalled or whose last listed file ended long ago', () => {
    const now = new Date(T0 + 4 * 3600_000);
    const quiet = task({ taskId: 'quiet' });
    const flagged = task({ taskId: 'flagged', stalledAt: new Date(T0) });
    const over = task({ taskId: 'over', status: 'OVER' });
    const plan = planReconciliation([item(0)], [file(0)], [quiet, flagged, over], { ...settings, now });
    expect(plan.stalledTaskIds.sort()).toEqual(['flagged', 'quiet']);
    const recent = planReconciliation([item(0)], [file(0)], [quiet], { ...settings, now: new Date(T0 + 3600_000) });
    expect(recent.stalledTaskIds).toEqual([]);
  });

  it('gives a callback and the listing of the same file the same recovery key', () => {
    expect(recoveryKeyOf({ download_url: item(0).download_url })).toBe(recoveryKeyOf(item(0)));
    expect(recoveryKeyOf({ download_url: 'a' })).not.toBe(recoveryKeyOf({ download_url: 'b' }));
    expect(recoveryKeyOf({})).toBeNull();
  });
});
