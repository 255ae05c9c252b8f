import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp } from './support/start-app';
import { baseUrlOf, buildStorm } from './support/storm';
import { report, sendStorm, startInstances, verifyOutcome } from './support/storm-verify';

// The storm of concurrency-storm.e2e-spec.ts on the embedded default: one process, one SQLite file (WAL),
// write transactions queued one after another. Its own file so each suite stays within about a minute.
describe('callback storm: one host app on SQLite', () => {
  let db: TestDatabase;
  let app: NestExpressApplication;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    [app] = await startInstances(db, 1);
    url = baseUrlOf(app.getHttpServer());
  });
  afterAll(async () => {
    await closeApp(app);
    await db?.drop();
  });

  it('2,000+ shuffled callbacks for 50 tasks, 30% duplicates, 32 in flight: stored once each, state = reducer', async () => {
    const storm = buildStorm({ seed: 0x5eed2026, tasks: 50, duplicateShare: 0.3, instances: 1, prefix: 'sqlstorm' });
    expect(storm.sends.length).toBeGreaterThanOrEqual(2000);
    const dataSource = app.get(DataSource);
    expect(dataSource.options.type).toBe('better-sqlite3');
    const started = Date.now();
    const answers = await sendStorm(storm.sends, [url], 32);
    report('sqlite storm', answers, Date.now() - started);
    await verifyOutcome({
      prefix: 'sqlstorm',
      byTask: storm.byTask,
      sends: storm.sends,
      answers,
      urls: [url],
      dataSource,
    });
  });
});
