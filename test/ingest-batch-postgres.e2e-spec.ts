import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { IngestService } from '../src/recording-callback/callback/ingest.service';
import { InvalidFieldsException } from '../src/recording-callback/errors/invalid-fields.exception';
import { parseRecordingCallback } from '../src/recording-callback/protocol/parse-callback';
import { StorageDataError } from '../src/recording-callback/storage/storage.errors';
import { KEY_A, eventBody, startBody } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { recordingQueries } from './support/pg-protocol';
import { closeApp, startApp } from './support/start-app';

type Body = Record<string, unknown>;

/** The delivery loop's statements, which run beside the batches. */
const DELIVERY_SQL = /^UPDATE recording_deliveries|^SELECT .* FROM recording_deliveries/s;
/** A statement's first word (`WITH w` for the callbacks' insert with its reads). */
const shape = (q: string) => q.split(/\s/)[0] + (q.startsWith('WITH w ') ? ' w' : '');
/** The shape of each statement of each exchange of the batches. */
const shapes = (exchanges: string[][]) =>
  exchanges.filter((e) => !e.some((q) => DELIVERY_SQL.test(q))).map((e) => e.map(shape));

/**
 * The multi-callback batch on PostgreSQL (SQLite stores each callback as its own work in its group commit).
 * Callbacks handed to the ingest service in one event-loop turn form one batch: the batcher cuts a batch
 * only after a turn that added nothing.
 */
describe.each([false, true])(
  'one ingest batch of several callbacks on PostgreSQL (preparedStatements: %s)',
  (preparedStatements) => {
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
          database: { preparedStatements },
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

    /** Each outcome as its result, or the name of the error it was refused with. */
    const results = (outcomes: Awaited<ReturnType<typeof ingestAll>>) =>
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value.result : (o.reason as Error).constructor.name));

    /** Runs `test` while `table` refuses rows that fail `check`. */
    const whileRefusing = async (table: string, check: string, test: () => Promise<void>) => {
      await ds.query(`ALTER TABLE ${table} ADD CONSTRAINT test_refuses CHECK (${check})`);
      try {
        await test();
      } finally {
        await ds.query(`ALTER TABLE ${table} DROP CONSTRAINT test_refuses`);
      }
    };

    it('a duplicate inside the batch, a mismatch and a refused value each get their own answer; the rest is stored', async () => {
      await whileRefusing('recording_tasks', "stream <> 'refused-by-db'", async () => {
        const outcomes = await ingestAll([
          startBody('pb-a'),
          eventBody('pb-a', 'RECORD_NEW_FILE_START', 'ja'),
          startBody('pb-a'),
          startBody('pb-b', { stream: 'refused-by-db' }),
          startBody('pb-a', { publish_domain: 'push.other.com' }),
          eventBody('pb-a', 'RECORD_FILE_COMPLETE', 'ja'),
          startBody('pb-c'),
        ]);
        expect(results(outcomes)).toEqual([
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
      });
    });

    it('refuses callbacks of another identity in a batch that stores the rest: nothing of them stays', async () => {
      await ingestAll([startBody('pb-m')]);
      const squatter = startBody('pb-m', { app: 'other-app' });
      const outcomes = await ingestAll([
        eventBody('pb-m', 'RECORD_NEW_FILE_START', 'jm'),
        squatter,
        squatter,
        startBody('pb-n', { stream: 'n-stream' }),
        eventBody('pb-n', 'RECORD_NEW_FILE_START', 'jn', 'HLS', { stream: 'another-stream' }),
      ]);
      expect(results(outcomes)).toEqual([
        'accepted',
        InvalidFieldsException.name,
        InvalidFieldsException.name,
        'accepted',
        InvalidFieldsException.name,
      ]);
      // The refused ones were inserted with the others in the first round trip, and deleted before COMMIT.
      const callbacks = await ds.query(
        `SELECT task_id, event_type, payload->>'app' AS app FROM recording_callbacks
         WHERE task_id IN ('pb-m', 'pb-n') ORDER BY id`,
      );
      expect(callbacks).toEqual([
        { task_id: 'pb-m', event_type: 'RECORD_START', app: 'live' },
        { task_id: 'pb-m', event_type: 'RECORD_NEW_FILE_START', app: 'live' },
        { task_id: 'pb-n', event_type: 'RECORD_START', app: 'live' },
      ]);
      const [{ n }] = await ds.query(
        `SELECT count(*)::int AS n FROM recording_deliveries WHERE task_id IN ('pb-m', 'pb-n')`,
      );
      expect(n).toBe(3);
      const files = await ds.query(`SELECT task_id, job_id FROM recording_files WHERE task_id IN ('pb-m', 'pb-n')`);
      expect(files).toEqual([{ task_id: 'pb-m', job_id: 'jm' }]);
      // A batch of refused callbacks only commits their deletion, and a resend is refused again, not a duplicate.
      const again = await ingestAll([squatter]);
      expect(results(again)).toEqual([InvalidFieldsException.name]);
      const [{ left }] = await ds.query(
        `SELECT count(*)::int AS left FROM recording_callbacks WHERE payload->>'app' = 'other-app'`,
      );
      expect(left).toBe(0);
    });

    it('a value refused by the one write statement fails only its callback: the others are stored alone', async () => {
      await whileRefusing('recording_files', "job_id <> 'refused-job'", async () => {
        const outcomes = await ingestAll([
          startBody('pb-f'),
          eventBody('pb-f', 'RECORD_NEW_FILE_START', 'jf'),
          eventBody('pb-f', 'RECORD_NEW_FILE_START', 'refused-job'),
          startBody('pb-h'),
        ]);
        expect(results(outcomes)).toEqual(['accepted', 'accepted', StorageDataError.name, 'accepted']);
        const files = await ds.query(`SELECT job_id FROM recording_files WHERE task_id = 'pb-f' ORDER BY id`);
        expect(files).toEqual([{ job_id: 'jf' }]);
        const callbacks = await ds.query(
          `SELECT task_id, job_id FROM recording_callbacks WHERE task_id IN ('pb-f', 'pb-h') ORDER BY id`,
        );
        expect(callbacks).toEqual([
          { task_id: 'pb-f', job_id: null },
          { task_id: 'pb-f', job_id: 'jf' },
          { task_id: 'pb-h', job_id: null },
        ]);
      });
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

    it('writes the tasks, files, transitions and deliveries of a batch in one statement after its reads', async () => {
      const { result: outcomes, sent } = await recordingQueries(() =>
        ingestAll([
          startBody('pb-w'),
          eventBody('pb-w', 'RECORD_NEW_FILE_START', 'jw'),
          eventBody('pb-w', 'RECORD_FILE_COMPLETE', 'jw'),
          startBody('pb-x'),
        ]),
      );
      expect(outcomes.map((o) => o.status === 'fulfilled' && o.value.result)).toEqual(Array(4).fill('accepted'));
      const ingestSql = sent.filter((q) => !/recording_deliveries/.test(q) || /WITH w0 AS/.test(q));
      const writes = ingestSql.filter((q) =>
        /INSERT INTO recording_files|INSERT INTO recording_task_transitions/.test(q),
      );
      // One statement carries the task upsert, the file upsert, the transitions and the deliveries.
      expect(writes).toHaveLength(1);
      expect(writes[0]).toMatch(/^WITH w0 AS \(INSERT INTO recording_tasks/);
      expect(writes[0]).toContain('INSERT INTO recording_files');
      expect(writes[0]).toContain('INSERT INTO recording_task_transitions');
      expect(writes[0]).toMatch(/\) INSERT INTO recording_deliveries/);
      // What that one statement wrote is all there, committed together with the callbacks.
      const files = await ds.query(`SELECT job_id, status FROM recording_files WHERE task_id = 'pb-w'`);
      expect(files).toEqual([{ job_id: 'jw', status: 'COMPLETE' }]);
      const transitions = await ds.query(
        `SELECT t.to_status, t.xmin::text = c.xmin::text AS same_tx FROM recording_task_transitions t
       JOIN recording_callbacks c ON c.id = t.callback_id WHERE t.task_id IN ('pb-w', 'pb-x') ORDER BY t.id`,
      );
      expect(transitions).toEqual([
        { to_status: 'RECORDING', same_tx: true },
        { to_status: 'RECORDING', same_tx: true },
      ]);
      const [{ n }] = await ds.query(
        `SELECT count(*)::int AS n FROM recording_deliveries d JOIN recording_callbacks c ON c.id = d.callback_id
       WHERE c.task_id IN ('pb-w', 'pb-x')`,
      );
      expect(n).toBe(4);
    });

    it('reads stored duplicates and files in the statement that inserts the callbacks: two round trips a batch, BEGIN and COMMIT included', async () => {
      const complete = eventBody('pb-y', 'RECORD_FILE_COMPLETE', 'jy');
      const first = await ingestAll([startBody('pb-y'), eventBody('pb-y', 'RECORD_NEW_FILE_START', 'jy'), complete]);
      const firstIds = first.map((o) => (o as PromiseFulfilledResult<{ callbackId: number }>).value.callbackId);
      // A resend of the stored completion, and a late file start that must not undo the stored file.
      const {
        result: second,
        sent,
        exchanges,
      } = await recordingQueries(() =>
        ingestAll([
          complete,
          eventBody('pb-y', 'RECORD_NEW_FILE_START', 'jy', 'HLS', { project_id: 'late' }),
          startBody('pb-z'),
        ]),
      );
      expect(second.map((o) => (o as PromiseFulfilledResult<{ result: string }>).value.result)).toEqual([
        'duplicate',
        'accepted',
        'accepted',
      ]);
      expect((second[0] as PromiseFulfilledResult<{ callbackId: number }>).value.callbackId).toBe(firstIds[2]);
      // BEGIN goes with the task locks and the callbacks' insert, COMMIT with the writes: five statements in
      // two exchanges.
      expect(shapes(exchanges)).toEqual([
        ['BEGIN', 'INSERT', 'WITH w'],
        ['WITH', 'COMMIT'],
      ]);
      // The statements that traveled after another in an exchange were never a query of their own.
      expect(sent.filter((q) => !DELIVERY_SQL.test(q)).map(shape)).toEqual(['INSERT', 'WITH']);
      const batch = exchanges.flat().filter((q) => !DELIVERY_SQL.test(q) && q !== 'BEGIN' && q !== 'COMMIT');
      expect(batch.map(shape)).toEqual(['INSERT', 'WITH w', 'WITH']);
      expect(batch[1]).toMatch(/^WITH w AS \(INSERT INTO recording_callbacks/);
      expect(batch[1]).toContain('FROM recording_files');
      // The stored file, read back as JSON, was kept whole: status, size and times as the completion set them.
      const [file] = await ds.query(
        `SELECT status, file_size::int AS size, start_time, end_time, download_url FROM recording_files WHERE task_id = 'pb-y'`,
      );
      expect(file).toEqual({
        status: 'COMPLETE',
        size: 3957964,
        start_time: new Date('2020-03-08T14:10:25Z'),
        end_time: new Date('2020-03-08T14:12:25Z'),
        download_url: complete.download_url,
      });
    });
  },
);
