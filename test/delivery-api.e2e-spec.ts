// The delivery list and replay routes: filters, keyset pages, 400 for bad parameters, app guards.
import request from 'supertest';
import { eventBody, eventually, startBody } from './support/callbacks';
import { DATABASE_KINDS } from './support/databases';
import { DELIVERIES, OpsTokenGuard, deliveryHarness } from './support/delivery-app';
import type { DeliveryJson } from './support/delivery-app';

describe.each(DATABASE_KINDS)('delivery list and replay API (%s)', (kind) => {
  const { launch, post, deliveries, settled, nothingScheduled } = deliveryHarness(kind);

  it('lists deliveries with status and taskId filters, keyset pages, and 400 for bad parameters', async () => {
    const r = await launch({ delivery: { maxAttempts: 1 } });
    r.probe.fail = (c) => c.handler === 'primary' && c.taskId.includes('bad');
    const t = (name: string) => `${kind}-${name}`;
    const plan: Array<Record<string, unknown>> = [
      startBody(t('good-1')),
      eventBody(t('good-1'), 'RECORD_NEW_FILE_START', 'j1'),
      eventBody(t('good-1'), 'RECORD_FILE_COMPLETE', 'j1'),
      startBody(t('good-2')),
      eventBody(t('good-2'), 'RECORD_OVER'),
      startBody(t('bad-1')),
      startBody(t('bad-2')),
      eventBody(t('bad-2'), 'RECORD_OVER'),
    ];
    for (const body of plan) await post(r, body);
    await settled(r);

    const all = (await deliveries(r, { limit: 100 })).items;
    expect(all).toHaveLength(8);
    const ids = all.map((d) => d.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a)); // newest first
    for (const d of all) {
      expect(Object.keys(d).sort()).toEqual(
        [
          'attempts',
          'callbackId',
          'createdAt',
          'eventType',
          'id',
          'lastError',
          'nextAttemptAt',
          'status',
          'succeededHandlers',
          'taskId',
          'updatedAt',
        ].sort(),
      );
    }

    const dead = (await deliveries(r, { status: 'dead' })).items;
    expect(dead.map((d) => [d.taskId, d.eventType, d.status, d.attempts])).toEqual([
      [t('bad-2'), 'RECORD_OVER', 'dead', 1],
      [t('bad-2'), 'RECORD_START', 'dead', 1],
      [t('bad-1'), 'RECORD_START', 'dead', 1],
    ]);
    expect((await deliveries(r, { status: 'delivered' })).items).toHaveLength(5);
    expect((await deliveries(r, { taskId: t('good-1') })).items.map((d) => d.eventType)).toEqual([
      'RECORD_FILE_COMPLETE',
      'RECORD_NEW_FILE_START',
      'RECORD_START',
    ]);
    expect((await deliveries(r, { status: 'dead', taskId: t('bad-2') })).items).toHaveLength(2);
    expect((await deliveries(r, { status: 'delivered', taskId: t('bad-1') })).items).toEqual([]);
    expect((await deliveries(r, { taskId: 'no-such-task' })).items).toEqual([]);

    // Pages of 3 cover everything once, newest first, even while a new delivery is added between pages.
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: DeliveryJson[]; nextCursor: string | null } = await deliveries(r, {
        limit: 3,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
      if (pages++ === 0) await post(r, startBody(t('late')));
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    const deadPage = await deliveries(r, { status: 'dead', limit: 2 });
    expect(deadPage.items.map((d) => d.id)).toEqual(dead.slice(0, 2).map((d) => d.id));
    expect(deadPage.nextCursor).toEqual(expect.any(String));
    const lastPage = await deliveries(r, { status: 'dead', limit: 2, cursor: deadPage.nextCursor! });
    expect(lastPage).toEqual({ items: [expect.objectContaining({ id: dead[2].id })], nextCursor: null });
    expect((await deliveries(r, { limit: 1 })).items).toHaveLength(1);

    const bad: Array<[Record<string, string>, string]> = [
      [{ status: 'bogus' }, 'status'],
      [{ status: 'DEAD' }, 'status'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '101' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ limit: '2.5' }, 'limit'],
      [{ cursor: 'abc' }, 'cursor'],
      [{ cursor: '-1' }, 'cursor'],
      [{ taskId: '' }, 'taskId'],
      [{ taskId: 'x'.repeat(257) }, 'taskId'],
      [{ sort: 'asc' }, 'sort'],
    ];
    for (const [query, field] of bad) {
      const res = await request(r.url).get(DELIVERIES).query(query);
      expect({ query, status: res.status, fields: Object.keys(res.body.fields ?? {}) }).toEqual({
        query,
        status: 400,
        fields: [field],
      });
    }
  });

  it('guards the delivery routes with the app-supplied queryGuards', async () => {
    const r = await launch({ queryGuards: [OpsTokenGuard] }, { wiring: 'forRootAsync' });
    const ok = { 'x-ops-token': 'let-me-in' };
    // The callback route itself is signed, not guarded.
    await post(r, startBody(`${kind}-guarded`));
    await eventually(async () => (await deliveries(r, { status: 'delivered' }, ok)).items.length === 1);

    expect((await request(r.url).get(DELIVERIES)).status).toBe(403);
    expect((await request(r.url).get(DELIVERIES).set('x-ops-token', 'wrong')).status).toBe(403);
    const [item] = (await deliveries(r, {}, ok)).items;
    expect((await request(r.url).post(`${DELIVERIES}/${item.id}/replay`)).status).toBe(403);
    await nothingScheduled(r);
    expect(r.probe.of('primary')).toHaveLength(1); // the refused replay changed nothing
    expect((await deliveries(r, {}, ok)).items[0]).toMatchObject({ id: item.id, status: 'delivered', attempts: 1 });
    expect((await request(r.url).post(`${DELIVERIES}/${item.id}/replay`).set(ok)).status).toBe(202);
    await eventually(() => r.probe.of('primary').length === 2);
  });
});
