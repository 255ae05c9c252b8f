import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { KEY_A, eventBody, eventually, sign, startBody } from './support/callbacks';
import { databaseEnv, deliveryRows, openDatabase, readHostLog, spawnHost } from './support/child-host';
import type { ChildHost } from './support/child-host';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import type { HostLogLine } from './support/delivery-host';
import { postCallback } from './support/storm';
import { transpileForNode } from './support/transpile-for-node';
import type { NodeBuild } from './support/transpile-for-node';

type Body = Record<string, unknown>;
const HOST = 'test/support/delivery-host.ts';

/** Distinct callbacks of one task: start, `files` × (new file, file complete), over. */
function lifecycle(taskId: string, files: number): Body[] {
  const bodies: Body[] = [startBody(taskId)];
  for (let j = 1; j <= files; j++) {
    bodies.push(eventBody(taskId, 'RECORD_NEW_FILE_START', `${taskId}-job${j}`));
    bodies.push(eventBody(taskId, 'RECORD_FILE_COMPLETE', `${taskId}-job${j}`));
  }
  bodies.push(eventBody(taskId, 'RECORD_OVER'));
  return bodies;
}

/** Sends every body concurrently to the given hosts (round robin); returns the stored callback ids. */
async function sendConcurrently(hosts: ChildHost[], bodies: Body[]): Promise<Map<number, string>> {
  const answers = await Promise.all(bodies.map((body, i) => postCallback(hosts[i % hosts.length].url, sign(body))));
  const ids = new Map<number, string>();
  answers.forEach((answer, i) => {
    expect({ status: answer.status, result: answer.body?.result, error: answer.error }).toEqual({
      status: 200,
      result: 'accepted',
      error: undefined,
    });
    ids.set(answer.body!.callbackId as number, bodies[i].task_id as string);
  });
  expect(ids.size).toBe(bodies.length);
  return ids;
}

/** Callback ids whose handler `handler` logged an `end` line. */
function ended(lines: HostLogLine[], handler: HostLogLine['handler']): Set<number> {
  return new Set(lines.filter((l) => l.handler === handler && l.phase === 'end').map((l) => l.callbackId!));
}

/** Per task, the callback ids in the order `handler` started them. */
function startsByTask(lines: HostLogLine[], handler: HostLogLine['handler']): Map<string, number[]> {
  const byTask = new Map<string, number[]>();
  for (const l of lines.filter((x) => x.handler === handler && x.phase === 'start').sort((a, b) => a.at - b.at)) {
    byTask.set(l.taskId, [...(byTask.get(l.taskId) ?? []), l.callbackId!]);
  }
  return byTask;
}

/** Stored callback ids of each task, ascending. */
function idsByTask(ids: Map<number, string>): Map<string, number[]> {
  const byTask = new Map<string, number[]>();
  for (const [id, task] of [...ids.entries()].sort((a, b) => a[0] - b[0]))
    byTask.set(task, [...(byTask.get(task) ?? []), id]);
  return byTask;
}

/** Intervals [start, end] of `handler` per key, pairing each end with the open start of the same instance. */
function intervals(lines: HostLogLine[], handler: HostLogLine['handler'], key: (l: HostLogLine) => string) {
  const open = new Map<string, HostLogLine>();
  const out: Array<{ key: string; instance: string; callbackId: number; start: number; end: number }> = [];
  for (const l of lines.filter((x) => x.handler === handler)) {
    const id = `${l.instance}/${l.callbackId}`;
    if (l.phase === 'start') {
      expect(open.has(id)).toBe(false);
      open.set(id, l);
    } else {
      // 'end' or 'error': the call is over.
      const s = open.get(id);
      expect(s).toBeDefined();
      open.delete(id);
      out.push({ key: key(l), instance: l.instance, callbackId: l.callbackId!, start: s!.at, end: l.at });
    }
  }
  return out;
}

/** Pairs of intervals with the same key that overlap in time. */
function overlaps(list: ReturnType<typeof intervals>) {
  const found: string[] = [];
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const a = list[i];
      const b = list[j];
      if (a.key === b.key && a.start < b.end && b.start < a.end) {
        found.push(
          `${a.key}: ${a.instance}#${a.callbackId} [${a.start}, ${a.end}] and ${b.instance}#${b.callbackId} [${b.start}, ${b.end}]`,
        );
      }
    }
  }
  return found;
}

/**
 * Waits until, on each instance, every watchdog check that had started by now has ended, and one check
 * that started later has ended too (the host logs each check's start and end with its number).
 */
async function watchdogCaughtUp(log: string, instances: string[]): Promise<void> {
  const checks = () => readHostLog(log).filter((l) => l.handler === 'watchdog');
  const started = checks().filter((l) => l.phase === 'start');
  const startedBy = new Map(instances.map((i) => [i, started.filter((l) => l.instance === i).map((l) => l.attempt)]));
  await eventually(() => {
    const ended = checks().filter((l) => l.phase !== 'start');
    return instances.every((i) => {
      const done = new Set(ended.filter((l) => l.instance === i).map((l) => l.attempt));
      const before = startedBy.get(i)!;
      return before.every((n) => done.has(n)) && [...done].some((n) => n > Math.max(0, ...before));
    });
  }, 20_000);
}

let build: NodeBuild;

beforeAll(() => {
  // Compiles what is on disk now (about a second), so the child processes never run a stale dist/.
  build = transpileForNode([HOST]);
});
afterAll(() => build?.remove());

describe.each(DATABASE_KINDS)('delivery after SIGKILL (%s)', (kind) => {
  let db: TestDatabase;
  let dir: string;
  let ds: DataSource | undefined;
  const hosts: ChildHost[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'rc-restart-'));
  });
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.kill('SIGKILL')));
    await ds?.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an app killed in the middle of deliveries delivers every callback to every handler after restart', async () => {
    const log = join(dir, 'events.jsonl');
    const env = { ...databaseEnv(db), EVENT_LOG: log, HANDLER_DELAY_MS: '150', LEASE_MS: '1500', CALLBACK_KEY: KEY_A };
    const first = await spawnHost('first', build.js(HOST), { ...env, INSTANCE: 'first' });
    hosts.push(first);

    const bodies = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].flatMap((t) => lifecycle(`${kind}-${t}`, 3));
    const ids = await sendConcurrently([first], bodies);

    // Kill it while the slow handler is busy: some callbacks handled, most not, and at least one handler
    // call started but not ended (the handler works HANDLER_DELAY_MS, far longer than this check takes).
    const runningNow = () => {
      const lines = readHostLog(log);
      const done = ended(lines, 'slow');
      return lines.some((l) => l.handler === 'slow' && l.phase === 'start' && !done.has(l.callbackId!));
    };
    await eventually(() => ended(readHostLog(log), 'slow').size >= 8 && runningNow(), 20_000);
    await first.kill('SIGKILL');
    const atKill = readHostLog(log);
    const handledAtKill = ended(atKill, 'slow');
    expect(handledAtKill.size).toBeLessThan(ids.size);
    ds = await openDatabase(db);
    const leasedAtKill = (await deliveryRows(ds)).filter((r) => r.leaseOwner !== null && r.status !== 'delivered');
    // Deliveries were running when the process died: their leases stay until they expire.
    expect(leasedAtKill.length).toBeGreaterThan(0);
    const interrupted = new Set(
      atKill.filter((l) => l.handler === 'slow' && l.phase === 'start').map((l) => l.callbackId!),
    );
    for (const id of handledAtKill) interrupted.delete(id);
    // Otherwise the re-run check below would check nothing.
    expect(interrupted.size).toBeGreaterThan(0);

    const second = await spawnHost('second', build.js(HOST), { ...env, INSTANCE: 'second' });
    hosts.push(second);
    const all = [...ids.keys()];
    try {
      await eventually(() => {
        const lines = readHostLog(log);
        const slow = ended(lines, 'slow');
        const fast = ended(lines, 'fast');
        return all.every((id) => slow.has(id) && fast.has(id));
      }, 30_000);
    } catch {
      const lines = readHostLog(log);
      const missing = all.filter((id) => !ended(lines, 'slow').has(id) || !ended(lines, 'fast').has(id));
      throw new Error(`not delivered after restart: callbacks ${missing.join(', ')}\n${second.output()}`);
    }

    // At least once: the handler calls cut short by the kill ran again, to the end, in the new process.
    const lines = readHostLog(log);
    for (const id of interrupted) {
      expect(
        lines.some((l) => l.instance === 'second' && l.handler === 'slow' && l.phase === 'end' && l.callbackId === id),
      ).toBe(true);
    }
    // Per-task order holds across the crash: each handler saw each task's callbacks in stored order,
    // a callback interrupted by the kill again before the next one.
    const stored = idsByTask(ids);
    for (const handler of ['slow', 'fast'] as const) {
      for (const [task, seen] of startsByTask(lines, handler)) {
        const ascending = seen.every((id, i) => i === 0 || id >= seen[i - 1]);
        expect({ handler, task, seen, ascending }).toEqual({ handler, task, seen, ascending: true });
        expect([...new Set(seen)]).toEqual(stored.get(task));
      }
    }
    await eventually(
      async () => (await deliveryRows(ds!)).every((r) => r.status === 'delivered' && r.leaseOwner === null),
      10_000,
    );
    expect((await deliveryRows(ds)).length).toBe(ids.size);
  }, 90_000);
});

describe.each(DATABASE_KINDS)('two instances on one database (%s)', (kind) => {
  let db: TestDatabase;
  let dir: string;
  let log: string;
  let flag: string;
  let ds: DataSource;
  let a: ChildHost;
  let b: ChildHost;
  const hosts: ChildHost[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'rc-two-'));
    log = join(dir, 'events.jsonl');
    flag = join(dir, 'broken');
    // Leases far longer than the whole test: none may expire, so every delivery must run exactly once.
    // Both watchdogs check every 25 ms for tasks silent for 2 s.
    const env = {
      ...databaseEnv(db),
      EVENT_LOG: log,
      HANDLER_DELAY_MS: '25',
      LEASE_MS: '60000',
      CALLBACK_KEY: KEY_A,
      STALL_AFTER_S: '2',
      WATCHDOG_INTERVAL_MS: '25',
      MAX_ATTEMPTS: '2',
      FAIL_FLAG_FILE: flag,
      SLOW_JOB_MS: '1500',
    };
    // One after the other: the first one creates the schema.
    a = await spawnHost('a', build.js(HOST), { ...env, INSTANCE: 'a' });
    hosts.push(a);
    b = await spawnHost('b', build.js(HOST), { ...env, INSTANCE: 'b' });
    hosts.push(b);
    ds = await openDatabase(db);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.kill('SIGKILL')));
    await ds?.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never run one delivery, or two deliveries of one task, at the same moment; each handler gets each callback once', async () => {
    const started = Date.now();
    const lifecycles = ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'].map((t) => lifecycle(`${kind}-two-${t}`, 2));
    // Each instance first gets the RECORD_START of half the tasks, so both start delivering (with group
    // commit one instance could otherwise store, claim and keep every task); then the rest of every
    // lifecycle goes to both instances at once, so they compete for the same tasks.
    const ids = await sendConcurrently(
      [a, b],
      lifecycles.map((l) => l[0]),
    );
    for (const [id, task] of await sendConcurrently(
      [a, b],
      lifecycles.flatMap((l) => l.slice(1)),
    ))
      ids.set(id, task);
    const all = [...ids.keys()];
    await eventually(() => {
      const lines = readHostLog(log);
      const slow = ended(lines, 'slow');
      const fast = ended(lines, 'fast');
      return all.every((id) => slow.has(id) && fast.has(id));
    }, 30_000);
    // Nothing is left scheduled (every delivery delivered, none leased), so no repeated call can still
    // come from either instance: the log below is final.
    ds ??= await openDatabase(db);
    const quiet = ds;
    await eventually(
      async () => (await deliveryRows(quiet)).every((r) => r.status === 'delivered' && r.leaseOwner === null),
      10_000,
    );
    expect(Date.now() - started).toBeLessThan(60_000);

    const lines = readHostLog(log);
    for (const handler of ['slow', 'fast'] as const) {
      // Exactly once per handler and callback (no lease expired).
      const starts = lines
        .filter((l) => l.handler === handler && l.phase === 'start')
        .map((l) => l.callbackId!)
        .sort((x, y) => x - y);
      expect(starts).toEqual([...all].sort((x, y) => x - y));
      // Never the same delivery on both instances at once, never two deliveries of one task at once.
      expect(overlaps(intervals(lines, handler, (l) => String(l.callbackId)))).toEqual([]);
    }
    const slowByTask = intervals(lines, 'slow', (l) => l.taskId);
    expect(overlaps(slowByTask)).toEqual([]);
    // Each task's callbacks in stored order, even when the two instances took turns on one task.
    const stored = idsByTask(ids);
    for (const [task, seen] of startsByTask(lines, 'slow'))
      expect({ task, seen }).toEqual({ task, seen: stored.get(task) });
    // Both instances did deliver (otherwise this test proves nothing about two instances).
    const byInstance = new Set(lines.filter((l) => l.handler === 'slow').map((l) => l.instance));
    expect([...byInstance].sort()).toEqual(['a', 'b']);

    // (A task whose callbacks took over 2 s to arrive may also have got a stall notice: not counted here.)
    const rows = (await deliveryRows(ds)).filter((r) => r.callbackId !== null);
    expect(rows.map((r) => [r.status, r.attempts, r.leaseOwner])).toEqual(rows.map(() => ['delivered', 1, null]));
    expect(rows.length).toBe(all.length);
  }, 90_000);

  it('both watchdogs checking every 25 ms flag each silent task once', async () => {
    const tasks = [1, 2, 3, 4, 5, 6].map((i) => `${kind}-silent-${i}`);
    await sendConcurrently(
      [a, b],
      tasks.map((t) => startBody(t)),
    );
    const stallsOf = (task: string) =>
      readHostLog(log).filter((l) => l.handler === 'stalled' && l.phase === 'start' && l.taskId === task);
    await eventually(() => tasks.every((t) => stallsOf(t).length > 0), 20_000);
    // Every task is flagged: its notice ran, so its flag committed. A second flag could come only from a
    // check running now, or from a later check that ignored the flag. Once every check that has started
    // ended and each instance ran one more from start to end, the stored notices are final.
    await watchdogCaughtUp(log, ['a', 'b']);

    const notices = async () =>
      (await deliveryRows(ds)).filter((r) => r.callbackId === null && tasks.includes(r.taskId));
    expect((await notices()).map((r) => r.taskId).sort()).toEqual([...tasks].sort());
    await eventually(async () => (await notices()).every((r) => r.status === 'delivered' && r.leaseOwner === null));
    for (const task of tasks) expect({ task, notices: stallsOf(task).length }).toEqual({ task, notices: 1 });
    for (const task of tasks) {
      const res = await fetch(`${a.url}/recording-tasks/${task}`);
      expect(((await res.json()) as { stalledAt: unknown }).stalledAt).toEqual(
        expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      );
    }
    // A check must not fail because the other instance wrote meanwhile (it would be retried, but
    // stalls would be found late and the log would cry wolf).
    const failures = `${a.output()}\n${b.output()}`
      .replace(/\x1b\[[0-9;]*m/g, '')
      .split('\n')
      .filter((l) => l.includes('stall check failed'));
    expect(failures).toEqual([]);
  }, 60_000);

  it('a replayed dead delivery never runs beside a later delivery of its task on the other instance', async () => {
    const task = `${kind}-fail-replay`;
    writeFileSync(flag, 'broken');
    const [dead] = [...(await sendConcurrently([a], [startBody(task)])).keys()];
    await eventually(
      async () => (await deliveryRows(ds)).some((r) => r.callbackId === dead && r.status === 'dead'),
      10_000,
    );
    rmSync(flag);

    // A later callback of the task goes ahead (a dead delivery does not block) and takes 1.5 s.
    const [later] = [...(await sendConcurrently([a], [eventBody(task, 'RECORD_NEW_FILE_START', 'slow-1')])).keys()];
    await eventually(
      () => readHostLog(log).some((l) => l.handler === 'slow' && l.phase === 'start' && l.callbackId === later),
      10_000,
    );
    const deadRow = (await deliveryRows(ds)).find((r) => r.callbackId === dead)!;
    const replay = await fetch(`${b.url}/recording-callbacks/deliveries/${deadRow.id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);

    await eventually(() => {
      const done = ended(readHostLog(log), 'slow');
      return done.has(dead) && done.has(later);
    }, 15_000);
    const lines = readHostLog(log).filter((l) => l.taskId === task);
    // Deliveries of one task never run at the same time, also when one of them is a replay.
    expect(overlaps(intervals(lines, 'slow', (l) => l.taskId))).toEqual([]);
  }, 60_000);
});
