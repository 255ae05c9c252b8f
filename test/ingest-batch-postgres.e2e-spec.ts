import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { IngestService } from '../src/recording-callback/callback/ingest.service';
import { InvalidFieldsException } from '../src/recording-callback/errors/invalid-fields.exception';
import { parseRecordingCallback } from '../src/recording-callback/protocol/parse-callback';
import { StorageDataError } from '../src/recording-callback/storage/storage.errors';
import { KEY_A, eventBody, startBody } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';

type Body = Record<string, unknown>;

/**
 * The multi-callback batch on PostgreSQL (SQLite stores each callback as its own work in its group commit).
 * Callbacks handed to the ingest service in one event-loop turn form one batch: the batcher cuts a batch
 * only after a turn that added nothing.
 */
describe('one ingest batch of several callbacks on PostgreSQL', () => {
  let db: TestDatabase;
  let app: NestExpressApplication;
  let ingest: IngestService;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    app = await startApp(db, {
      module: {
        auth: { algorithm: 'HMACSHA256', keys: [KEY_A] },
        ingest: { batchSize: 100, batchWaitMs: 1000, concurrency: 1 },
      },
    });
    ingest = app.get(IngestService);
    ds = app.get(DataSource);
  });
  afterAll(async () => {
    await closeApp(app);
    await db?.drop();
  });

  /** Ingests all bodies in one turn; the outcome of each, as a value or the error it was refused with. */
  const ingestAll = (bodies: Body[]) =>
    Promise.allSettled(
      bodies.map((body) => {
        const parsed = parseRecordingCallback(body);
        if (!parsed.ok) throw new Error(`fixture does not validate: ${JSON.stringify(parsed.fields)}`);
        return ingest.ingest(parsed.dto, body);
      }),
    );

  it('a duplicate inside the batch, a mismatch and a refused value each get their own answer; the rest is stored', async () => {
    await ds.query(`ALTER TABLE recording_tasks ADD CONSTRAINT test_refuses CHECK (stream <> 'refused-by-db')`);
    try {
      const outcomes = await ingestAll([
        startBody('pb-a'),
        eventBody('pb-a', 'RECORD_NEW_FILE_START', 'ja'),
        startBody('pb-a'),
        startBody('pb-b', { stream: 'refused-by-db' }),
        startBody('pb-a', { publish_domain: 'push.other.com' }),
        eventBody('pb-a', 'RECORD_FILE_COMPLETE', 'ja'),
        startBody('pb-c'),
      ]);
      const view = outcomes.map((o) =>
        o.status === 'fulfilled' ? o.value.result : (o.reason as Error).constructor.name,
      );
      expect(view).toEqual([
        'accepted',
        'accepted',
        'duplicate',
        StorageDataError.name,
        InvalidFieldsException.name,
        'accepted',
        'accepted',
      ]);
      const value = (i: number) => (outcomes[i] as PromiseFulfilledResult<{ callbackId: number }>).value.callbackId;
      expect(value(2)).toBe(value(0));
      // Ids rise in arrival order, also after the batch was re-run callback by callback.
      expect([value(0), value(1), value(5), value(6)]).toEqual(
        [value(0), value(1), value(5), value(6)].sort((x, y) => x - y),
      );
      const tasks = await ds.query(`SELECT task_id, status, publish_domain FROM recording_tasks ORDER BY task_id`);
      expect(tasks).toEqual([
        { task_id: 'pb-a', status: 'RECORDING', publish_domain: 'push.example.com' },
        { task_id: 'pb-c', status: 'RECORDING', publish_domain: 'push.example.com' },
      ]);
      const files = await ds.query(`SELECT task_id, job_id, status FROM recording_files ORDER BY id`);
      expect(files).toEqual([{ task_id: 'pb-a', job_id: 'ja', status: 'COMPLETE' }]);
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM recording_callbacks`);
      expect(n).toBe(4);
    } finally {
      await ds.query('ALTER TABLE recording_tasks DROP CONSTRAINT test_refuses');
    }
  });

  it('stores a batch of several tasks in one transaction, each callback answered with its own id', async () => {
    const before = Number((await ds.query(`SELECT count(*)::int AS n FROM recording_callbacks`))[0].n);
    const outcomes = await ingestAll([startBody('pb-d'), startBody('pb-e'), eventBody('pb-d', 'RECORD_OVER')]);
    expect(outcomes.map((o) => o.status === 'fulfilled' && o.value.result)).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    const ids = outcomes.map((o) => (o as PromiseFulfilledResult<{ callbackId: number }>).value.callbackId);
    // One multi-row insert: consecutive ids in arrival order, all written by one transaction (one xmin).
    expect(ids).toEqual([ids[0], ids[0] + 1, ids[0] + 2]);
    const [{ writers }] = await ds.query(
      `SELECT count(DISTINCT xmin::text)::int AS writers FROM recording_callbacks WHERE id = ANY($1)`,
      [ids],
    );
    expect(writers).toBe(1);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM recording_callbacks`);
    expect(n).toBe(before + 3);
    const tasks = await ds.query(
      `SELECT task_id, status FROM recording_tasks WHERE task_id IN ('pb-d', 'pb-e') ORDER BY task_id`,
    );
    expect(tasks).toEqual([
      { task_id: 'pb-d', status: 'OVER' },
      { task_id: 'pb-e', status: 'RECORDING' },
    ]);
  });
});
