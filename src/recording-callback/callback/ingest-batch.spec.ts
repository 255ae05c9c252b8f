import { eventBody, startBody } from '../../../test/support/callbacks';
import { FakeRegistry, openUnitStore } from '../../../test/support/unit-store';
import type { UnitStore } from '../../../test/support/unit-store';
import { DeliveryOutbox } from '../delivery/delivery-outbox';
import { DeliveryRunner } from '../delivery/delivery-runner';
import { DeliveryScheduler } from '../delivery/delivery-scheduler';
import { dedupeKey } from '../protocol/dedupe-key';
import { parseRecordingCallback } from '../protocol/parse-callback';
import { TaskBatchStore } from '../tasks/task-batch.store';
import { RecordingTelemetry } from '../telemetry/recording-telemetry';
import { IngestBatchWriter } from './ingest-batch';
import type { IngestItem } from './ingest-batch';

type Body = Record<string, unknown>;

/** The writer over a fresh unit store, with the delivery parts it stores deliveries through. */
async function openWriter(): Promise<{ store: UnitStore; writer: IngestBatchWriter }> {
  const store = await openUnitStore();
  const registry = new FakeRegistry();
  const runner = new DeliveryRunner(store.db, registry, store.options, new RecordingTelemetry());
  const scheduler = new DeliveryScheduler(store.db, runner, registry, store.options);
  const outbox = new DeliveryOutbox(store.db, scheduler, registry, store.options);
  return { store, writer: new IngestBatchWriter(store.db, new TaskBatchStore(store.db, store.options), outbox) };
}

/** An item as the ingest service prepares it, received `second` seconds into the test. */
function item(body: Body, second: number): IngestItem {
  const parsed = parseRecordingCallback(body);
  if (!parsed.ok) throw new Error(`fixture does not validate: ${JSON.stringify(parsed.fields)}`);
  return {
    callback: parsed.dto,
    payloadJson: JSON.stringify(body),
    dedupeKey: dedupeKey(body),
    receivedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, second)),
  };
}

/** Everything a batch leaves in the task, file, transition, callback and delivery tables (ids left out). */
async function tables(store: UnitStore) {
  return {
    tasks: await store.query('SELECT * FROM recording_tasks ORDER BY task_id'),
    files: await store.query(
      `SELECT task_id, job_id, record_format, status, download_url, asset_id, file_size, record_duration,
         start_time, end_time, width, height, created_at, updated_at FROM recording_files ORDER BY task_id, job_id`,
    ),
    transitions: await store.query(
      `SELECT t.task_id, from_status, to_status, t.event_type, t.job_id, c.dedupe_key, at
       FROM recording_task_transitions t JOIN recording_callbacks c ON c.id = t.callback_id ORDER BY t.id`,
    ),
    callbacks: await store.query(
      'SELECT dedupe_key, task_id, event_type, job_id, received_at FROM recording_callbacks ORDER BY id',
    ),
    deliveries: await store.query(
      `SELECT c.dedupe_key, d.task_id, d.event_type, d.status FROM recording_deliveries d
       JOIN recording_callbacks c ON c.id = d.callback_id ORDER BY d.id`,
    ),
  };
}

describe('IngestBatchWriter', () => {
  const opened: UnitStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  // Two tasks interleaved; a duplicate of a callback of the same batch; a file started and completed in the
  // batch; a callback naming task a with another domain; task b created by this batch.
  const bodies: Body[] = [
    startBody('a'),
    eventBody('b', 'RECORD_NEW_FILE_START', 'jb'),
    eventBody('a', 'RECORD_NEW_FILE_START', 'ja'),
    startBody('a'),
    eventBody('a', 'RECORD_FILE_COMPLETE', 'ja'),
    startBody('a', { publish_domain: 'push.other.com' }),
    startBody('b'),
    eventBody('a', 'RECORD_OVER'),
  ];
  const items = () => bodies.map((b, i) => item(b, i));

  it('answers each callback of a batch as if each had its own transaction, in batch order', async () => {
    const { store, writer } = await openWriter();
    opened.push(store);
    const out = await store.db.transaction((em) => writer.write(em, items()));
    expect(out.map((o) => o.result)).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'duplicate',
      'accepted',
      'mismatch',
      'accepted',
      'accepted',
    ]);
    const ids = out.map((o) => ('callbackId' in o ? o.callbackId : null));
    // The duplicate names the callback stored earlier in the batch; ids rise in batch order.
    expect(ids[3]).toBe(ids[0]);
    const stored = ids.filter((id, i) => id !== null && i !== 3) as number[];
    expect([...stored].sort((x, y) => x - y)).toEqual(stored);
    expect(out[5]).toEqual({
      result: 'mismatch',
      fields: [{ field: 'publish_domain', given: 'push.other.com', stored: 'push.example.com' }],
    });
  });

  it('stores exactly what one transaction per callback, in the same order, stores', async () => {
    const batched = await openWriter();
    const alone = await openWriter();
    opened.push(batched.store, alone.store);
    await batched.store.db.transaction((em) => batched.writer.write(em, items()));
    for (const one of items()) await alone.store.db.transaction((em) => alone.writer.write(em, [one]));
    const fromBatch = await tables(batched.store);
    expect(fromBatch).toEqual(await tables(alone.store));
    // And it is what the batch should hold: 6 stored callbacks, a's file complete, both tasks' transitions.
    expect(fromBatch.callbacks).toHaveLength(6);
    expect(fromBatch.files.map((f) => [f.task_id, f.job_id, f.status])).toEqual([
      ['a', 'ja', 'COMPLETE'],
      ['b', 'jb', 'RECORDING'],
    ]);
    expect(fromBatch.tasks.map((t) => [t.task_id, t.status, t.publish_domain])).toEqual([
      ['a', 'OVER', 'push.example.com'],
      ['b', 'RECORDING', 'push.example.com'],
    ]);
  });
});
