// RecordingHealthModule and RecordingMetricsModule used as a user's app would (not the host app), with
// real handlers that block and fail, so the backlog, retries and dead letters are real.
import { Controller, Get, Injectable } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { OnRecordingEvent, RecordingEvents } from '../src/recording-callback';
import { RecordingHealthIndicator, RecordingHealthModule } from '../src/recording-callback/health';
import { RecordingMetrics, RecordingMetricsModule } from '../src/recording-callback/metrics';
import { buildRecordFailed, buildRecordOver, signRecordingCallback } from '../src/recording-callback/testing';
import { KEY_A, eventually } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';
import { parsePrometheus, sumOf } from './support/prometheus';

/** The app's handlers: RECORD_OVER waits for the test to let it go; RECORD_FAILED always throws. */
@Injectable()
class Handlers {
  release!: () => void;
  readonly gate = new Promise<void>((r) => (this.release = r));
  running = 0;

  @OnRecordingEvent(RecordingEvents.Over)
  async onOver(): Promise<void> {
    this.running++;
    await this.gate;
  }

  @OnRecordingEvent(RecordingEvents.Failed)
  onFailed(): void {
    throw new Error('alerting service down');
  }
}

/** What a user writes: /health with the module's checks, /metrics from the module's registry. */
@Controller()
class OpsController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly recording: RecordingHealthIndicator,
    private readonly metrics: RecordingMetrics,
  ) {}

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check(this.recording.checks());
  }

  @Get('metrics')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

describe('health and metrics modules in an app with failing handlers (sqlite)', () => {
  let db: TestDatabase;
  let app: NestExpressApplication;
  let handlers: Handlers;

  const post = (body: object) =>
    request(app.getHttpServer())
      .post('/recording-callbacks')
      .send(signRecordingCallback(body, { key: KEY_A }));
  const metrics = async () => parsePrometheus((await request(app.getHttpServer()).get('/metrics').expect(200)).text);
  const health = () => request(app.getHttpServer()).get('/health');

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await startApp(db, {
      module: {
        auth: { algorithm: 'HMACSHA256', keys: [KEY_A] },
        delivery: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10, pollIntervalMs: 50, shutdownGraceMs: 1000 },
      },
      imports: [RecordingHealthModule.forRoot({ maxBacklog: 0, maxDeadLetters: 0 }), RecordingMetricsModule.forRoot()],
      controllers: [OpsController],
      providers: [Handlers],
    });
    handlers = app.get(Handlers);
  });
  afterAll(async () => {
    handlers?.release();
    await closeApp(app);
    await db.drop();
  });

  it('is healthy with nothing stored yet', async () => {
    const res = await health().expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details).toMatchObject({
      recording_database: { status: 'up' },
      recording_deliveries: { status: 'up', backlog: 0, deadLetters: 0, maxBacklog: 0, maxDeadLetters: 0 },
      recording_callbacks: { status: 'up', lastCallbackAt: null, ageSeconds: null },
    });
    const m = await metrics();
    expect(m.recording_delivery_backlog).toBe(0);
    expect(m.recording_delivery_dead_letters).toBe(0);
  });

  it('reports a delivery still running as backlog: 503 over the threshold, 200 once delivered', async () => {
    await post(buildRecordOver({ task_id: 'blocked' })).expect(200);
    await eventually(() => handlers.running === 1);
    const down = await health().expect(503);
    expect(down.body.status).toBe('error');
    expect(down.body.error.recording_deliveries).toMatchObject({
      status: 'down',
      backlog: 1,
      message: 'delivery backlog over its threshold',
    });
    expect(down.body.details.recording_callbacks.ageSeconds).toBeLessThanOrEqual(5);
    expect((await metrics()).recording_delivery_backlog).toBe(1);

    handlers.release();
    await eventually(async () => (await health()).status === 200);
    const m = await metrics();
    expect(m.recording_delivery_backlog).toBe(0);
    expect(m['recording_delivery_attempts_total{event_type="RECORD_OVER",outcome="delivered"}']).toBe(1);
    expect(sumOf(m, 'recording_delivery_failures_total')).toBe(0);
  });

  it('counts failed attempts and the dead letter, and turns unhealthy on the dead letter', async () => {
    await post(buildRecordFailed({ task_id: 'doomed' })).expect(200);
    await eventually(async () => (await metrics()).recording_delivery_dead_letters === 1);
    const m = await metrics();
    expect(m['recording_delivery_attempts_total{event_type="RECORD_FAILED",outcome="failed"}']).toBe(1);
    expect(m['recording_delivery_attempts_total{event_type="RECORD_FAILED",outcome="dead"}']).toBe(1);
    expect(m['recording_delivery_failures_total{event_type="RECORD_FAILED"}']).toBe(2);
    expect(m.recording_delivery_backlog).toBe(0);
    expect(m['recording_callbacks_total{event_type="RECORD_FAILED",result="accepted"}']).toBe(1);

    const down = await health().expect(503);
    expect(down.body.error.recording_deliveries).toMatchObject({
      status: 'down',
      backlog: 0,
      deadLetters: 1,
      message: 'dead letters over their threshold',
    });
    expect(down.body.details.recording_database.status).toBe('up');
  });

  it('is degraded, not down, when no callback came for longer than maxSilenceSeconds', async () => {
    const later = new RecordingHealthIndicator(app.get(HealthIndicatorService), app.get(DataSource), {
      maxSilenceSeconds: 60,
      now: () => Date.now() + 3600_000,
    });
    const result = await app.get(HealthCheckService).check([() => later.lastCallback()]);
    expect(result.status).toBe('degraded');
    expect(result.details.recording_callbacks).toMatchObject({
      status: 'degraded',
      maxSilenceSeconds: 60,
      message: 'no callback for over 60 s',
    });
    expect(result.details.recording_callbacks.ageSeconds).toBeGreaterThanOrEqual(3600);
  });
});
