import { Registry } from 'prom-client';
import { RecordingMetrics } from './recording-metrics';

async function values(registry: Registry, name: string): Promise<Array<{ labels: object; value: number }>> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

describe('RecordingMetrics', () => {
  it('counts callbacks by event type and result, and clamps unknown event types to one label', async () => {
    const m = new RecordingMetrics();
    m.onCallback({ result: 'accepted', status: 200, durationMs: 4, eventType: 'RECORD_START', publishDomain: 'a.com' });
    m.onCallback({ result: 'accepted', status: 200, durationMs: 6, eventType: 'RECORD_START', publishDomain: 'a.com' });
    m.onCallback({ result: 'invalid', status: 400, durationMs: 1, eventType: 'x'.repeat(200) });
    m.onCallback({ result: 'invalid', status: 400, durationMs: 1 });
    expect(await values(m.registry, 'recording_callbacks_total')).toEqual([
      { labels: { event_type: 'RECORD_START', result: 'accepted' }, value: 2 },
      { labels: { event_type: 'unknown', result: 'invalid' }, value: 2 },
    ]);
    const latency = await values(m.registry, 'recording_ingest_duration_seconds');
    expect(latency).toContainEqual({ labels: { result: 'accepted' }, value: 0.01 }); // the sum, in seconds
    expect(latency).toContainEqual({ labels: { result: 'accepted', le: 0.005 }, value: 1 });
  });

  it('labels signature failures by reason and domain, keeping configured and verified domains', async () => {
    const m = new RecordingMetrics({ maxUnverifiedDomains: 2 });
    m.knownDomains(['configured.com']);
    m.onCallback({ result: 'accepted', status: 200, durationMs: 1, publishDomain: 'verified.com' });
    const reject = (publishDomain: string | undefined, reason = 'bad_signature') =>
      m.onCallback({ result: 'rejected', status: 401, durationMs: 1, publishDomain, reason });
    ['f1.com', 'f2.com', 'f3.com', 'f4.com', 'f1.com', 'configured.com', 'verified.com'].forEach((d) => reject(d));
    reject(undefined, 'missing_signature');
    const byDomain = Object.fromEntries(
      (await values(m.registry, 'recording_signature_failures_total')).map((v) => [
        `${(v.labels as Record<string, string>).reason}/${(v.labels as Record<string, string>).publish_domain}`,
        v.value,
      ]),
    );
    expect(byDomain).toEqual({
      'bad_signature/f1.com': 2,
      'bad_signature/f2.com': 1,
      'bad_signature/other': 2,
      'bad_signature/configured.com': 1,
      'bad_signature/verified.com': 1,
      'missing_signature/none': 1,
    });
  });

  it('labels an unsigned domain that is not a host name "invalid", so no escape sequence reaches /metrics', async () => {
    const m = new RecordingMetrics();
    for (const publishDomain of ['evil\u001b[31mRED', 'a\u2028b', 'e\u0085c', 'x y', 'ok.example.com:8080']) {
      m.onCallback({ result: 'rejected', status: 401, durationMs: 1, publishDomain, reason: 'bad_signature' });
    }
    const labels = (await values(m.registry, 'recording_signature_failures_total')).map(
      (v) => `${(v.labels as Record<string, string>).publish_domain}=${v.value}`,
    );
    expect(labels.sort()).toEqual(['invalid=4', 'ok.example.com:8080=1']);
    expect(await m.registry.metrics()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
  });

  it('counts delivery attempts by outcome and failures (retried or dead)', async () => {
    const m = new RecordingMetrics();
    const base = { deliveryId: 1, callbackId: 1, taskId: 't', attempt: 1, durationMs: 2 };
    m.onDelivery({ ...base, eventType: 'RECORD_OVER', outcome: 'failed' });
    m.onDelivery({ ...base, eventType: 'RECORD_OVER', outcome: 'dead' });
    m.onDelivery({ ...base, eventType: 'STALLED', outcome: 'delivered' });
    expect(await values(m.registry, 'recording_delivery_attempts_total')).toEqual([
      { labels: { event_type: 'RECORD_OVER', outcome: 'failed' }, value: 1 },
      { labels: { event_type: 'RECORD_OVER', outcome: 'dead' }, value: 1 },
      { labels: { event_type: 'STALLED', outcome: 'delivered' }, value: 1 },
    ]);
    expect(await values(m.registry, 'recording_delivery_failures_total')).toEqual([
      { labels: { event_type: 'RECORD_OVER' }, value: 2 },
    ]);
  });

  it('reads the backlog once per scrape, and keeps the last values when the read fails', async () => {
    const registry = new Registry();
    const m = new RecordingMetrics({ registry, prefix: 'rc_' });
    let reads = 0;
    let fail = false;
    m.trackBacklog(async () => {
      reads++;
      if (fail) throw new Error('database down');
      return { open: 7, dead: 2 };
    });
    const text = await registry.metrics();
    expect(text).toMatch(/^rc_delivery_backlog 7$/m);
    expect(text).toMatch(/^rc_delivery_dead_letters 2$/m);
    expect(reads).toBe(1);
    fail = true;
    await new Promise((r) => setImmediate(r));
    const again = await registry.metrics();
    expect(reads).toBe(2);
    expect(again).toMatch(/^rc_delivery_backlog 7$/m);
  });

  it('registers in the given registry under the given prefix, so two apps in one process do not collide', async () => {
    const shared = new Registry();
    new RecordingMetrics({ registry: shared, prefix: 'app1_' });
    new RecordingMetrics({ registry: shared, prefix: 'app2_' });
    for (const name of ['app1_callbacks_total', 'app2_callbacks_total']) {
      expect(await shared.getSingleMetric(name)?.get()).toMatchObject({ name, type: 'counter' });
    }
    // The same metrics twice, each under its own prefix, and nothing without one.
    const names = (await shared.getMetricsAsJSON()).map((m) => m.name);
    const app1 = names.filter((n) => n.startsWith('app1_'));
    expect(app1.length).toBeGreaterThan(3);
    expect(names.sort()).toEqual([...app1, ...app1.map((n) => n.replace('app1_', 'app2_'))].sort());
    expect(() => new RecordingMetrics({ registry: shared, prefix: 'app1_' })).toThrow(/already been registered/);
    expect(new RecordingMetrics().registry).not.toBe(new RecordingMetrics().registry);
  });
});
