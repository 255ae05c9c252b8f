import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { sign } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp } from './support/start-app';
import {
  Rng,
  baseUrlOf,
  buildStorm,
  inParallel,
  postCallback,
  reduceAll,
  stormCallbacks,
  taskLifecycle,
} from './support/storm';
import type { Answer, StormCallback, StormSend } from './support/storm';
import { report, sendStorm, startInstances, verifyOutcome } from './support/storm-verify';

describe('callback storm: three host app instances on one PostgreSQL database', () => {
  let db: TestDatabase;
  let apps: NestExpressApplication[] = [];
  let urls: string[];
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    apps = await startInstances(db, 3);
    urls = apps.map((app) => baseUrlOf(app.getHttpServer()));
    dataSource = apps[0].get(DataSource);
  });
  afterAll(async () => {
    for (const app of apps) await closeApp(app);
    await db?.drop();
  });

  it('runs on three separate apps, each with its own pool and port', () => {
    expect(new Set(urls).size).toBe(3);
    const sources = apps.map((app) => app.get(DataSource));
    expect(new Set(sources).size).toBe(3);
    expect(sources.every((s) => s.options.type === 'postgres')).toBe(true);
  });

  it('2,000+ shuffled callbacks for 50 tasks, 30% duplicates, 32 in flight: stored once each, state = reducer', async () => {
    const storm = buildStorm({ seed: 0x5eed2026, tasks: 50, duplicateShare: 0.3, instances: 3, prefix: 'pgstorm' });
    expect(storm.sends.length).toBeGreaterThanOrEqual(2000);
    expect(storm.sends.length - storm.distinct.length).toBeGreaterThanOrEqual(Math.floor(0.3 * storm.sends.length));
    // Realistic lifecycles: tasks end OVER, FAILED or still RECORDING; some record 1, 2 and 3 formats.
    const finals = [...storm.byTask.values()].map((cs) =>
      reduceAll(cs.map((c) => ({ body: c.body, receivedAt: new Date(c.seq) }))),
    );
    const count = (status: string) => finals.filter((f) => f.task?.status === status).length;
    expect([count('OVER') >= 5, count('FAILED') >= 5, count('RECORDING') >= 2]).toEqual([true, true, true]);
    const formats = [...storm.byTask.values()].map((cs) => new Set(cs.map((c) => c.body.record_format)).size);
    expect([1, 2, 3].every((n) => formats.includes(n))).toBe(true);
    const started = Date.now();
    const answers = await sendStorm(storm.sends, urls, 32);
    report('postgres storm', answers, Date.now() - started);
    for (let i = 0; i < 3; i++) expect(storm.sends.filter((s) => s.instance === i).length).toBeGreaterThan(500);
    await verifyOutcome({ prefix: 'pgstorm', byTask: storm.byTask, sends: storm.sends, answers, urls, dataSource });
  });

  it('the same callback sent to all three instances at the same moment: all 200, stored once', async () => {
    const rng = new Rng(0xace);
    const byTask = new Map<string, StormCallback[]>();
    const rounds: StormCallback[] = [];
    for (let t = 0; t < 6; t++) {
      const taskId = `pgrace-task-${t}`;
      const callbacks = stormCallbacks(taskId, taskLifecycle(rng, taskId, t));
      byTask.set(taskId, callbacks);
      rounds.push(...callbacks);
    }
    rng.shuffle(rounds);
    expect(rounds.length).toBeGreaterThanOrEqual(120);

    const sends: StormSend[] = [];
    const answers: Answer[] = [];
    const now = Math.floor(Date.now() / 1000);
    // 8 rounds at a time; in each round one callback goes to all three instances at once, either the very
    // same signed body (a network-level retry) or re-signed per instance (a provider-level re-send).
    await inParallel(rounds, 8, async (callback, r) => {
      const same = sign(callback.body, { timestamp: now });
      const copies = [0, 1, 2].map((i) => ({
        callback,
        copy: i,
        instance: i,
        signed: r % 2 === 0 ? same : sign(callback.body, { timestamp: now - i }),
      }));
      const got = await Promise.all(copies.map((s) => postCallback(urls[s.instance], s.signed)));
      copies.forEach((s, i) => {
        sends.push(s);
        answers.push(got[i]);
      });
    });
    await verifyOutcome({ prefix: 'pgrace', byTask, sends, answers, urls, dataSource });
  });

  it('all callbacks of a task at once across the instances: no lost update', async () => {
    const rng = new Rng(0xbee);
    const byTask = new Map<string, StormCallback[]>();
    for (let t = 0; t < 6; t++) {
      const taskId = `pgburst-task-${t}`;
      byTask.set(taskId, stormCallbacks(taskId, taskLifecycle(rng, taskId, t)));
    }
    const sends: StormSend[] = [];
    const answers: Answer[] = [];
    // Two tasks at a time; every event of a task is in flight at the same moment, spread over the instances.
    await inParallel([...byTask.values()], 2, async (callbacks) => {
      const batch = rng.shuffle(
        callbacks.map((callback, i) => ({ callback, copy: 0, instance: i % 3, signed: sign(callback.body) })),
      );
      const got = await Promise.all(batch.map((s) => postCallback(urls[s.instance], s.signed)));
      batch.forEach((s, i) => {
        sends.push(s);
        answers.push(got[i]);
      });
    });
    await verifyOutcome({ prefix: 'pgburst', byTask, sends, answers, urls, dataSource });
  });
});
