// /metrics of the host app: prom-client counters fed by the module's telemetry.
import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { loadHostConfig } from '../src/host/host-config';
import { buildRecordFileComplete, buildRecordStart, signRecordingCallback } from '../src/recording-callback/testing';
import { KEY_A, KEY_B, eventually } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';
import { parsePrometheus, sumOf } from './support/prometheus';

describe('GET /metrics of the host app (sqlite)', () => {
  let db: TestDatabase;
  let app: NestExpressApplication;

  const post = (body: object) => request(app.getHttpServer()).post('/recording-callbacks').send(body);
  const scrape = async () => {
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(res.text);
  };

  // Each test counts from zero: its own app (and metrics registry) on its own database.
  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
    app = await startApp(db, { host: {} });
  });
  afterEach(async () => {
    await closeApp(app);
    await db.drop();
  });

  it('starts at zero, with Node process metrics beside the module metrics', async () => {
    const m = await scrape();
    expect(sumOf(m, 'recording_callbacks_total')).toBe(0);
    expect(m.recording_delivery_backlog).toBe(0);
    expect(m.recording_delivery_dead_letters).toBe(0);
    expect(m.process_cpu_user_seconds_total).toBeGreaterThan(0);
  });

  it('counts callbacks by event type and result, signature failures by reason and domain, and latency', async () => {
    const sign = (body: object, key = KEY_A, expiresInSeconds = 0) =>
      signRecordingCallback(body, { key, expiresInSeconds });
    const start1 = buildRecordStart({ task_id: 'm-1' });
    const first = await post(sign(start1)).expect(200);
    expect(first.body).toEqual({ result: 'accepted', callbackId: expect.any(Number) });
    await post(sign(start1)).expect(200, { result: 'duplicate', callbackId: first.body.callbackId });
    await post(sign(buildRecordStart({ task_id: 'm-2' }))).expect(200);
    await post(sign(buildRecordFileComplete({ task_id: 'm-1' }))).expect(200);
    await post(sign(buildRecordStart({ task_id: 'm-3' }), KEY_B)).expect(401);
    await post(sign(buildRecordStart({ task_id: 'm-4', publish_domain: 'push.other.com' }), KEY_B)).expect(401);
    await post(sign(buildRecordStart({ task_id: 'm-5' }), KEY_A, -3600)).expect(401);
    await post({ ...buildRecordStart({ task_id: 'm-6' }) }).expect(401);
    await post(sign(buildRecordFileComplete({ task_id: 'm-7', download_url: 'not a url' }))).expect(400);
    await post(sign({ ...buildRecordStart({ task_id: 'm-8' }), event_type: 'RECORD_PAUSED' })).expect(400);

    const m = await scrape();
    expect(m['recording_callbacks_total{event_type="RECORD_START",result="accepted"}']).toBe(2);
    expect(m['recording_callbacks_total{event_type="RECORD_START",result="duplicate"}']).toBe(1);
    expect(m['recording_callbacks_total{event_type="RECORD_FILE_COMPLETE",result="accepted"}']).toBe(1);
    expect(m['recording_callbacks_total{event_type="RECORD_START",result="rejected"}']).toBe(4);
    expect(m['recording_callbacks_total{event_type="RECORD_FILE_COMPLETE",result="invalid"}']).toBe(1);
    // An event type the module does not know is one label value, whatever was sent.
    expect(m['recording_callbacks_total{event_type="unknown",result="invalid"}']).toBe(1);
    expect(sumOf(m, 'recording_callbacks_total')).toBe(10);

    expect(m['recording_signature_failures_total{reason="bad_signature",publish_domain="push.example.com"}']).toBe(1);
    expect(m['recording_signature_failures_total{reason="bad_signature",publish_domain="push.other.com"}']).toBe(1);
    expect(m['recording_signature_failures_total{reason="expired",publish_domain="push.example.com"}']).toBe(1);
    expect(m['recording_signature_failures_total{reason="missing_signature",publish_domain="push.example.com"}']).toBe(
      1,
    );
    expect(sumOf(m, 'recording_signature_failures_total')).toBe(4);

    expect(m['recording_ingest_duration_seconds_count{result="accepted"}']).toBe(3);
    expect(m['recording_ingest_duration_seconds_count{result="duplicate"}']).toBe(1);
    expect(m['recording_ingest_duration_seconds_count{result="rejected"}']).toBe(4);
    expect(m['recording_ingest_duration_seconds_bucket{le="+Inf",result="accepted"}']).toBe(3);
    expect(m['recording_ingest_duration_seconds_sum{result="accepted"}']).toBeGreaterThan(0);
    expect(m['recording_ingest_duration_seconds_sum{result="accepted"}']).toBeLessThan(30);

    // The host app's only handler listens to RECORD_FILE_COMPLETE: one attempt, delivered. Callbacks that no
    // handler listens to are recorded as delivered without an attempt.
    await eventually(async () => sumOf(await scrape(), 'recording_delivery_attempts_total') === 1);
    const after = await scrape();
    expect(after['recording_delivery_attempts_total{event_type="RECORD_FILE_COMPLETE",outcome="delivered"}']).toBe(1);
    expect(sumOf(after, 'recording_delivery_failures_total')).toBe(0);
    expect(after.recording_delivery_backlog).toBe(0);
  });

  it('keeps forged publish_domain values from growing the series without bound', async () => {
    // A domain with an accepted callback, and one refusal each from it and from another real domain.
    await post(signRecordingCallback(buildRecordStart({ task_id: 'forge-1' }), { key: KEY_A })).expect(200);
    await post(signRecordingCallback(buildRecordStart({ task_id: 'forge-2' }), { key: KEY_B })).expect(401);
    const other = buildRecordStart({ task_id: 'forge-3', publish_domain: 'push.other.com' });
    await post(signRecordingCallback(other, { key: KEY_B })).expect(401);
    for (let i = 0; i < 15; i++) {
      await post(
        signRecordingCallback(buildRecordStart({ publish_domain: `forged-${i}.example` }), { key: KEY_B }),
      ).expect(401);
    }
    const m = await scrape();
    const domains = Object.keys(m)
      .filter((s) => s.startsWith('recording_signature_failures_total{reason="bad_signature"'))
      .map((s) => /publish_domain="([^"]*)"/.exec(s)![1]);
    // push.example.com had a callback accepted; push.other.com plus 9 forged ones fill the 10 unverified slots.
    expect(domains.filter((d) => d.startsWith('forged-'))).toHaveLength(9);
    expect(m['recording_signature_failures_total{reason="bad_signature",publish_domain="other"}']).toBe(6);
    expect(m['recording_signature_failures_total{reason="bad_signature",publish_domain="push.example.com"}']).toBe(1);
  });
});

describe('GET /metrics switches', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is off with RECORDING_METRICS=off', async () => {
    const config = loadHostConfig({
      RECORDING_METRICS: 'off',
      RECORDING_CALLBACK_KEYS: KEY_A,
      SQLITE_PATH: db.sqlitePath,
    });
    expect(config.metrics).toBe(false);
    const app = await startApp(db, { host: { metrics: config.metrics } });
    try {
      await request(app.getHttpServer()).get('/metrics').expect(404);
      await request(app.getHttpServer()).get('/health').expect(200);
    } finally {
      await closeApp(app);
    }
  });

  it('needs the query token when RECORDING_QUERY_TOKEN is set', async () => {
    const app = await startApp(db, { host: { queryToken: 'query-secret' } });
    try {
      await request(app.getHttpServer()).get('/metrics').expect(401);
      await request(app.getHttpServer()).get('/metrics').set('Authorization', 'Bearer query-secret').expect(200);
    } finally {
      await closeApp(app);
    }
  });
});
