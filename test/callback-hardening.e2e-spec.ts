import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { RecordingEvents } from '../src/recording-callback';
import type { RecordStartEvent, RecordOverEvent } from '../src/recording-callback';
import { KEY_A, eventBody, eventually, sign, startBody } from './support/callbacks';
import { latch } from './support/unit-store';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { startApp } from './support/start-app';

const KEY_OTHER = 'OtherDomainKeyZZ99887766554433221100ab';

/** Handlers that record what they receive; the OVER handler can be made to hang. */
@Injectable()
class Recorder {
  static starts: RecordStartEvent[] = [];
  static overs: RecordOverEvent[] = [];
  static hang = false;

  @OnEvent(RecordingEvents.Start)
  onStart(e: RecordStartEvent): void {
    Recorder.starts.push(e);
  }

  @OnEvent(RecordingEvents.Over)
  async onOver(e: RecordOverEvent): Promise<void> {
    Recorder.overs.push(e);
    if (Recorder.hang) await new Promise((resolve) => setTimeout(resolve, 1_500));
  }
}

describe.each(DATABASE_KINDS)('hardening (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startApp(db, {
      module: {
        auth: {
          domains: {
            'push.a.example': { algorithm: 'HMACSHA256', keys: [KEY_A] },
            'push.b.example': { algorithm: 'HMACSHA256', keys: [KEY_OTHER] },
          },
        },
        delivery: { baseDelayMs: 10, pollIntervalMs: 20, maxAttempts: 2, leaseMs: 2_000, handlerTimeoutMs: 300 },
        operationGuards: [{ canActivate: () => true }],
      },
      providers: [Recorder],
    });
  });
  afterAll(async () => {
    Recorder.hang = false;
    await app?.close();
    await db?.drop();
  });
  beforeEach(() => {
    Recorder.starts = [];
    Recorder.overs = [];
    Recorder.hang = false;
  });

  const post = (body: Record<string, unknown>) => request(app.getHttpServer()).post('/recording-callbacks').send(body);

  it('refuses a callback signed for one domain that names a task of another domain, and leaves the task alone', async () => {
    await post(sign(startBody('hard-1', { publish_domain: 'push.a.example' }))).expect(200);
    const forged = sign(eventBody('hard-1', 'RECORD_FAILED', undefined, 'HLS', { publish_domain: 'push.b.example' }), {
      key: KEY_OTHER,
    });
    const res = await post(forged).expect(400);
    expect(Object.keys(res.body.fields)).toEqual(['publish_domain']);
    const task = await request(app.getHttpServer()).get('/recording-tasks/hard-1').expect(200);
    expect(task.body.status).toBe('RECORDING');
    // Same domain, other stream: refused too, naming the stream.
    const otherStream = sign(
      eventBody('hard-1', 'RECORD_OVER', undefined, 'HLS', { publish_domain: 'push.a.example', stream: 'x' }),
    );
    expect(Object.keys((await post(otherStream).expect(400)).body.fields)).toEqual(['stream']);
  });

  it('never hands auth_sign to handlers', async () => {
    const body = sign(startBody('hard-2', { publish_domain: 'push.a.example' }));
    await post(body).expect(200);
    await eventually(() => Recorder.starts.some((e) => e.callback.task_id === 'hard-2'));
    const event = Recorder.starts.find((e) => e.callback.task_id === 'hard-2')!;
    expect(event.callback.auth_sign).toBeUndefined();
    expect(JSON.stringify(event)).not.toContain(String(body.auth_sign));
  });

  it('counts a handler that outlives handlerTimeoutMs as failed, then dead, and refuses to replay a running delivery', async () => {
    Recorder.hang = true;
    await post(sign(startBody('hard-3', { publish_domain: 'push.a.example' }))).expect(200);
    await post(sign(eventBody('hard-3', 'RECORD_OVER', undefined, 'HLS', { publish_domain: 'push.a.example' }))).expect(
      200,
    );
    const dead = async () =>
      (await request(app.getHttpServer()).get('/recording-callbacks/deliveries?taskId=hard-3&status=dead')).body.items;
    await eventually(async () => (await dead()).length === 1, 8_000);
    const [row] = await dead();
    expect(row.lastError).toContain('timed out after 300 ms');
    expect(row.attempts).toBe(2);

    // A dead delivery can be replayed; it runs again (the 409 for a running one: see 'replay while running').
    await request(app.getHttpServer()).post(`/recording-callbacks/deliveries/${row.id}/replay`).expect(202);
    await eventually(() => Recorder.overs.length >= 3, 5_000);
  });

  it('answers 404 and 400 for delivery ids beyond the integer column', async () => {
    await request(app.getHttpServer()).post('/recording-callbacks/deliveries/2147483648/replay').expect(404);
    const res = await request(app.getHttpServer()).get('/recording-callbacks/deliveries?cursor=9999999999').expect(400);
    expect(Object.keys(res.body.fields)).toEqual(['cursor']);
  });

  it('delivers a ready task even when over a hundred tasks wait out their backoff', async () => {
    // 120 tasks whose oldest open delivery is not due for an hour, each with a due one behind it, and
    // one task whose only delivery is due now: the poll must find the ready one.
    const ds = app.get(DataSource);
    const now = Date.now();
    const context = JSON.stringify({
      task: {
        taskId: 'x',
        projectId: null,
        publishDomain: 'push.a.example',
        app: 'live',
        stream: 's',
        recordFormat: null,
        status: 'RECORDING',
        errorMessage: null,
        lastEventType: 'RECORD_OVER',
        lastEventAt: new Date(now).toISOString(),
      },
      file: null,
      transition: null,
      at: new Date(now).toISOString(),
    });
    const insert = async (taskId: string, status: string, due: number) => {
      const sql = `INSERT INTO recording_deliveries (callback_id, task_id, event_type, status, attempts, next_attempt_at,
        succeeded_handlers, context, created_at, updated_at) VALUES (NULL, ?, 'STALLED', ?, 1, ?, '[]', ?, ?, ?)`;
      let n = 0;
      await ds.query(kind === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql, [
        taskId,
        status,
        due,
        context,
        now,
        now,
      ]);
    };
    for (let i = 0; i < 120; i++) {
      await insert(`blocked-${i}`, 'failed', now + 3_600_000);
      await insert(`blocked-${i}`, 'pending', now);
    }
    await insert('ready-1', 'pending', now);
    const statusOf = async () =>
      (await request(app.getHttpServer()).get('/recording-callbacks/deliveries?taskId=ready-1')).body.items[0]?.status;
    await eventually(async () => (await statusOf()) === 'delivered', 5_000);
  });
});

/** An OVER handler that says when it started and then waits until the test lets it finish. */
@Injectable()
class Gate {
  static started = latch();
  static release = latch();
  static calls = 0;

  @OnEvent(RecordingEvents.Over)
  async onOver(): Promise<void> {
    Gate.calls++;
    Gate.started.release();
    await Gate.release.promise;
  }
}

describe.each(DATABASE_KINDS)('replay while running (%s)', (kind) => {
  let db: TestDatabase;
  let app: NestExpressApplication;

  beforeAll(async () => {
    Gate.started = latch();
    Gate.release = latch();
    Gate.calls = 0;
    db = await createTestDatabase(kind);
    app = await startApp(db, {
      module: {
        auth: { algorithm: 'HMACSHA256', keys: [KEY_A] },
        // Far longer than the test needs: the lease is held for as long as the handler is kept waiting.
        delivery: { pollIntervalMs: 20, leaseMs: 120_000, handlerTimeoutMs: 60_000 },
        operationGuards: [{ canActivate: () => true }],
      },
      providers: [Gate],
    });
  });
  afterAll(async () => {
    Gate.release.release();
    await app?.close();
    await db?.drop();
  });

  it('refuses with 409 to replay a delivery whose handler is running, and replays it once it finished', async () => {
    const http = () => request(app.getHttpServer());
    const task = `${kind}-gate`;
    await http()
      .post('/recording-callbacks')
      .send(sign(startBody(task)))
      .expect(200);
    await http()
      .post('/recording-callbacks')
      .send(sign(eventBody(task, 'RECORD_OVER')))
      .expect(200);
    await Gate.started.promise;
    const { items } = (await http().get(`/recording-callbacks/deliveries?taskId=${task}`).expect(200)).body;
    const over = items.find((d: { eventType: string }) => d.eventType === 'RECORD_OVER');

    const refused = await http().post(`/recording-callbacks/deliveries/${over.id}/replay`).expect(409);
    expect(refused.body.message).toBe(`delivery ${over.id} is running now; replay it once it has finished`);

    Gate.release.release();
    await eventually(async () => {
      const res = await http().get(`/recording-callbacks/deliveries?taskId=${task}&status=delivered`);
      return res.body.items.some((d: { id: number }) => d.id === over.id);
    }, 10_000);
    await http().post(`/recording-callbacks/deliveries/${over.id}/replay`).expect(202);
    await eventually(() => Gate.calls === 2, 10_000);
  });
});
