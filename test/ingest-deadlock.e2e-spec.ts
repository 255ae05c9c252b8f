import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { KEY_A, eventually } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';
import { baseUrlOf, buildStorm } from './support/storm';
import { report, sendStorm, verifyOutcome } from './support/storm-verify';

/**
 * Group commit on PostgreSQL: each instance stores callbacks in batches, several at once, and every batch
 * locks all its tasks. Batches of three instances that share tasks must take those locks in one order, or
 * two of them wait on each other and PostgreSQL kills one (a deadlock). A killed batch is re-run callback by
 * callback, so the answers alone would not show it: the database's own deadlock counter is checked too.
 */
describe('ingest batches on three instances sharing tasks (PostgreSQL): no deadlock', () => {
  let db: TestDatabase;
  const apps: NestExpressApplication[] = [];
  let urls: string[];
  let dataSource: DataSource;

  /** Deadlocks PostgreSQL detected in the test database since it was created. */
  const deadlocks = async (): Promise<number> => {
    const admin = new DataSource({ type: 'postgres', url: db.databaseUrl });
    await admin.initialize();
    try {
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const [row] = await admin.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()');
      return Number(row.deadlocks);
    } finally {
      await admin.destroy();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    for (let i = 0; i < 3; i++) {
      // Batches allowed large (up to 500 callbacks; a batch gathers while each event-loop turn adds
      // callbacks, for up to 200 ms) and 4 in flight per instance.
      const app = await startApp(db, {
        module: {
          auth: { algorithm: 'HMACSHA256', keys: [KEY_A] },
          ingest: { batchSize: 500, batchWaitMs: 200, concurrency: 4 },
        },
      });
      await app.listen(0, '127.0.0.1');
      apps.push(app);
    }
    urls = apps.map((app) => baseUrlOf(app.getHttpServer()));
    dataSource = apps[0].get(DataSource);
  });
  afterAll(async () => {
    for (const app of apps) await closeApp(app);
    await db?.drop();
  });

  it('callbacks of 12 tasks, shuffled, 96 in flight over 3 instances: all 200, state = reducer, 0 deadlocks', async () => {
    const storm = buildStorm({ seed: 0xdead10c, tasks: 12, duplicateShare: 0.2, instances: 3, prefix: 'dl' });
    expect(storm.sends.length).toBeGreaterThanOrEqual(400);
    const started = Date.now();
    const answers = await sendStorm(storm.sends, urls, 96);
    report('deadlock storm', answers, Date.now() - started);
    // Every answer 200 (no 503), one accepted per content, rows and task states equal to the reducer's.
    // The deadlock count is read in any case, so a failure says whether PostgreSQL saw deadlocks.
    const outcome = await verifyOutcome({
      prefix: 'dl',
      byTask: storm.byTask,
      sends: storm.sends,
      answers,
      urls,
      dataSource,
    }).then(
      () => undefined,
      (error: unknown) => error,
    );

    // A backend reports its counters when it exits: close the apps and wait until their connections are gone.
    for (const app of apps.splice(0)) await closeApp(app);
    const admin = new DataSource({ type: 'postgres', url: db.databaseUrl });
    await admin.initialize();
    try {
      await eventually(async () => {
        const [row] = await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        );
        return row.n === 0;
      }, 30_000);
    } finally {
      await admin.destroy();
    }
    const seen = await deadlocks();
    if (outcome) throw new Error(`${seen} deadlock(s) in PostgreSQL; ${String(outcome)}`);
    expect(seen).toBe(0);
  });
});
