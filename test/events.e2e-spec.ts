import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { NestExpressApplication } from '@nestjs/platform-express';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import {
  OnRecordingEvent,
  RecordFailedEvent,
  RecordFileCompleteDto,
  RecordFileCompleteEvent,
  RecordNewFileStartEvent,
  RecordOverEvent,
  RecordStartEvent,
  RecordingCallbackEvent,
  RecordingEvents,
  StoredCallbackEntity,
  TaskStatusChangedEvent,
} from '../src/recording-callback';
import { CapturingLogger } from './support/capturing-logger';
import { deliveryRows } from './support/child-host';
import { eventBody, eventually, sign, startBody } from './support/callbacks';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { postCallback } from './support/e2e-helpers';
import { WIRINGS, closeApp, startApp } from './support/start-app';
import { KEY_A } from './support/callbacks';

type Body = Record<string, unknown>;

/** An app's handlers, written as a user would, recording what they receive. */
@Injectable()
class RecordingProbe {
  readonly starts: RecordStartEvent[] = [];
  readonly newFiles: RecordNewFileStartEvent[] = [];
  readonly completed: RecordFileCompleteEvent[] = [];
  readonly overs: RecordOverEvent[] = [];
  readonly failures: RecordFailedEvent[] = [];
  readonly statusChanges: TaskStatusChangedEvent[] = [];
  /** callbackId → whether the stored callback was visible to the handler (emitted after commit). */
  readonly committed = new Map<number, boolean>();
  /**
   * Reads through a connection of its own, which sees only committed rows. On SQLite the app's DataSource
   * shares one connection with the module's transactions and would see uncommitted rows too, which would
   * prove nothing; so on SQLite this is a separate read-only better-sqlite3 connection to the same file.
   */
  static storedElsewhere?: (callbackId: number) => Promise<boolean>;

  constructor(private readonly dataSource: DataSource) {}

  @OnEvent(RecordingEvents.Start)
  async onStart(e: RecordStartEvent): Promise<void> {
    this.starts.push(e);
    const seen = RecordingProbe.storedElsewhere
      ? await RecordingProbe.storedElsewhere(e.callbackId)
      : (await this.dataSource.getRepository(StoredCallbackEntity).findOneBy({ id: e.callbackId })) !== null;
    this.committed.set(e.callbackId, seen);
  }

  @OnEvent(RecordingEvents.NewFileStart)
  onNewFile(e: RecordNewFileStartEvent): void {
    this.newFiles.push(e);
  }

  @OnEvent(RecordingEvents.FileComplete)
  onFileComplete(e: RecordFileCompleteEvent): void {
    this.completed.push(e);
  }

  @OnEvent(RecordingEvents.Over)
  onOver(e: RecordOverEvent): void {
    this.overs.push(e);
  }

  @OnEvent(RecordingEvents.Failed)
  onFailed(e: RecordFailedEvent): void {
    this.failures.push(e);
  }

  @OnEvent(RecordingEvents.StatusChanged)
  onStatus(e: TaskStatusChangedEvent): void {
    this.statusChanges.push(e);
  }
}

/** Handlers that fail for tasks whose id starts with `throw-`: synchronously on OVER, asynchronously on FAILED. */
@Injectable()
class FailingHandlers {
  readonly calls: number[] = [];

  @OnRecordingEvent(RecordingEvents.Over)
  onOver(e: RecordOverEvent): void {
    if (!e.task.taskId.startsWith('throw-')) return;
    this.calls.push(e.callbackId);
    throw new Error(`sync-boom for ${e.task.taskId}`);
  }

  @OnRecordingEvent(RecordingEvents.Failed)
  async onFailed(e: RecordFailedEvent): Promise<void> {
    if (!e.task.taskId.startsWith('throw-')) return;
    this.calls.push(e.callbackId);
    await new Promise((r) => setTimeout(r, 5));
    throw new Error(`async-boom for ${e.task.taskId}`);
  }
}

const forTask = <T extends { task: { taskId: string } }>(events: T[], taskId: string): T[] =>
  events.filter((e) => e.task.taskId === taskId);

describe.each(DATABASE_KINDS)('recording events (%s)', (kind) => {
  let db: TestDatabase;

  let reader: Database.Database | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    RecordingProbe.storedElsewhere = undefined;
  });
  afterAll(async () => {
    RecordingProbe.storedElsewhere = undefined;
    reader?.close();
    await db.drop();
  });

  describe.each(WIRINGS)('module via %s', (wiring) => {
    let app: NestExpressApplication;
    let probe: RecordingProbe;
    let failing: FailingHandlers;
    const logs = new CapturingLogger();
    const id = (name: string) => `${wiring}-${name}`;

    /** POSTs a signed callback, expects 200 accepted, returns its callback id. */
    async function accepted(body: Body, timestamp?: number): Promise<number> {
      const res = await postCallback(app, sign(body, { timestamp }));
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { result: 'accepted' } });
      return res.body.callbackId;
    }

    /**
     * Waits until the stored state has nothing scheduled for the task: each of its deliveries delivered
     * or dead and none leased. A delivered delivery never runs again without a replay, so what the probe
     * holds for the task is final.
     */
    async function settle(taskId: string): Promise<void> {
      await eventually(async () =>
        (await deliveryRows(app.get(DataSource)))
          .filter((row) => row.taskId === taskId)
          .every((row) => (row.status === 'delivered' || row.status === 'dead') && row.leaseOwner === null),
      );
    }

    beforeAll(async () => {
      app = await startApp(db, {
        module: { auth: { algorithm: 'HMACSHA256', keys: [KEY_A] } },
        wiring,
        providers: [RecordingProbe, FailingHandlers],
        logger: logs,
      });
      probe = app.get(RecordingProbe);
      failing = app.get(FailingHandlers);
      if (kind === 'sqlite' && !reader) {
        // Opened after the app ran its migrations, so the file and its tables exist.
        const own = new Database(db.sqlitePath, { readonly: true, fileMustExist: true });
        const find = own.prepare('SELECT 1 AS found FROM recording_callbacks WHERE id = ?');
        reader = own;
        RecordingProbe.storedElsewhere = async (callbackId) => find.get(callbackId) !== undefined;
      }
    });
    afterAll(async () => {
      await closeApp(app);
    });

    it('hands a RecordFileCompleteEvent with callbackId, callback DTO, task state and file to @OnEvent', async () => {
      const taskId = id('file-1');
      const body = eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-1', 'MP4', { vendor_extension: 'kept' });
      const callbackId = await accepted(body);
      await eventually(() => forTask(probe.completed, taskId).length > 0);
      const [e] = forTask(probe.completed, taskId);

      expect(e).toBeInstanceOf(RecordFileCompleteEvent);
      expect(e).toBeInstanceOf(RecordingCallbackEvent);
      expect(e.callbackId).toBe(callbackId);
      expect(e.attempt).toBe(1);
      expect(e.callback).toBeInstanceOf(RecordFileCompleteDto);
      expect(e.callback).toMatchObject({
        event_type: 'RECORD_FILE_COMPLETE',
        task_id: taskId,
        job_id: 'job-1',
        record_format: 'MP4',
        download_url: `https://obs.example.com/${taskId}/job-1.mp4`,
        file_size: 3957964,
        vendor_extension: 'kept',
      });
      expect(e.task).toMatchObject({
        taskId,
        publishDomain: 'push.example.com',
        app: 'live',
        stream: `stream-${taskId}`,
        status: 'RECORDING',
      });
      expect(e.file).toMatchObject({
        jobId: 'job-1',
        recordFormat: 'MP4',
        status: 'COMPLETE',
        downloadUrl: `https://obs.example.com/${taskId}/job-1.mp4`,
        fileSize: 3957964,
        recordDuration: 120,
        width: 1280,
        height: 720,
      });
    });

    it('emits one typed event per Huawei event type, with the task state after the callback', async () => {
      const taskId = id('types-1');
      const startId = await accepted(startBody(taskId));
      const newFileId = await accepted(eventBody(taskId, 'RECORD_NEW_FILE_START', 'job-1', 'FLV'));
      const overId = await accepted(eventBody(taskId, 'RECORD_OVER'));
      const failedId = await accepted(eventBody(taskId, 'RECORD_FAILED'));
      await eventually(() => forTask(probe.failures, taskId).length > 0 && forTask(probe.overs, taskId).length > 0);
      await eventually(() => forTask(probe.starts, taskId).length > 0 && forTask(probe.newFiles, taskId).length > 0);

      const [start] = forTask(probe.starts, taskId);
      expect(start).toBeInstanceOf(RecordStartEvent);
      expect(start).toMatchObject({ callbackId: startId, task: { status: 'RECORDING' }, file: null });
      expect(start.callback.event_type).toBe('RECORD_START');

      const [newFile] = forTask(probe.newFiles, taskId);
      expect(newFile).toBeInstanceOf(RecordNewFileStartEvent);
      expect(newFile).toMatchObject({
        callbackId: newFileId,
        file: { jobId: 'job-1', recordFormat: 'FLV', status: 'RECORDING' },
      });

      const [over] = forTask(probe.overs, taskId);
      expect(over).toBeInstanceOf(RecordOverEvent);
      expect(over).toMatchObject({ callbackId: overId, task: { status: 'OVER' } });

      const [failed] = forTask(probe.failures, taskId);
      expect(failed).toBeInstanceOf(RecordFailedEvent);
      expect(failed).toMatchObject({
        callbackId: failedId,
        callback: { error_message: 'upload to OBS failed' },
        task: { status: 'FAILED', errorMessage: 'upload to OBS failed' },
      });
    });

    // The handler reads on a connection of its own (see RecordingProbe.storedElsewhere), which sees the
    // callback only once its transaction committed: on both databases this fails if events go out earlier.
    it('emits after the commit: a handler finds the stored callback', async () => {
      const taskId = id('commit-1');
      const callbackId = await accepted(startBody(taskId));
      await eventually(() => probe.committed.has(callbackId));
      expect(probe.committed.get(callbackId)).toBe(true);
    });

    it('emits one status-changed event per transition, none for duplicates or late events', async () => {
      const taskId = id('status-1');
      const startId = await accepted(startBody(taskId));
      await accepted(eventBody(taskId, 'RECORD_NEW_FILE_START', 'job-1'));
      await accepted(eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-1'));
      const now = Math.floor(Date.now() / 1000);
      const overId = await accepted(eventBody(taskId, 'RECORD_OVER'), now);
      const duplicate = await postCallback(app, sign(eventBody(taskId, 'RECORD_OVER'), { timestamp: now + 3 }));
      expect(duplicate.body).toMatchObject({ result: 'duplicate' });
      await accepted(eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-2'));
      const failedId = await accepted(eventBody(taskId, 'RECORD_FAILED'));
      await accepted(eventBody(taskId, 'RECORD_OVER', undefined, 'HLS', { project_id: 'proj-late' }));
      await settle(taskId);

      const changes = forTask(probe.statusChanges, taskId);
      for (const change of changes) expect(change).toBeInstanceOf(TaskStatusChangedEvent);
      expect(changes.map((c) => [c.callbackId, c.transition.fromStatus, c.transition.toStatus])).toEqual([
        [startId, null, 'RECORDING'],
        [overId, 'RECORDING', 'OVER'],
        [failedId, 'OVER', 'FAILED'],
      ]);
      expect(changes.map((c) => c.transition.eventType)).toEqual(['RECORD_START', 'RECORD_OVER', 'RECORD_FAILED']);
      expect(changes.map((c) => c.task.status)).toEqual(['RECORDING', 'OVER', 'FAILED']);
      for (const change of changes) expect(change.at).toBeInstanceOf(Date);
      // The duplicate OVER was not emitted again; the later, different OVER was (status unchanged).
      expect(forTask(probe.overs, taskId).map((e) => e.callbackId)[0]).toBe(overId);
      expect(forTask(probe.overs, taskId)).toHaveLength(2);
      expect(forTask(probe.overs, taskId)[1].task.status).toBe('FAILED');
    });

    it('emits a duplicate callback only once', async () => {
      const taskId = id('dup-1');
      const body = eventBody(taskId, 'RECORD_FILE_COMPLETE', 'job-1');
      const now = Math.floor(Date.now() / 1000);
      const callbackId = await accepted(body, now);
      for (const ts of [now + 1, now + 2]) {
        const res = await postCallback(app, sign(body, { timestamp: ts }));
        expect(res.body).toMatchObject({ result: 'duplicate' });
      }
      await settle(taskId);
      expect(forTask(probe.completed, taskId).map((e) => e.callbackId)).toEqual([callbackId]);
    });

    it('answers 200 when a handler throws, and logs the error with the callback id', async () => {
      const logged = (marker: string, callbackId: number) =>
        logs
          .of('error')
          .some((l) => l.message.includes(marker) && new RegExp(`(^|\\D)${callbackId}(\\D|$)`).test(l.message));

      // A handler that throws synchronously (RECORD_OVER of a throw-… task).
      const syncTask = `throw-${wiring}-sync`;
      await accepted(startBody(syncTask));
      const overRes = await postCallback(app, sign(eventBody(syncTask, 'RECORD_OVER')));
      expect(overRes.status).toBe(200);
      expect(overRes.body).toMatchObject({ result: 'accepted' });
      const overId: number = overRes.body.callbackId;

      // A handler whose promise rejects (RECORD_FAILED of another throw-… task).
      const asyncTask = `throw-${wiring}-async`;
      await accepted(startBody(asyncTask));
      const failRes = await postCallback(app, sign(eventBody(asyncTask, 'RECORD_FAILED')));
      expect(failRes.status).toBe(200);
      expect(failRes.body).toMatchObject({ result: 'accepted' });
      const failedId: number = failRes.body.callbackId;

      await eventually(
        () => logged(`sync-boom for ${syncTask}`, overId) && logged(`async-boom for ${asyncTask}`, failedId),
      );
      expect(failing.calls).toEqual(expect.arrayContaining([overId, failedId]));

      // Other handlers of the same events still ran, and the app keeps taking callbacks.
      await eventually(
        () => forTask(probe.overs, syncTask).length > 0 && forTask(probe.failures, asyncTask).length > 0,
      );
      const next = await postCallback(app, sign(eventBody(syncTask, 'RECORD_FILE_COMPLETE', 'job-1')));
      expect(next.status).toBe(200);
      expect(next.body).toMatchObject({ result: 'accepted' });
    });
  });
});
