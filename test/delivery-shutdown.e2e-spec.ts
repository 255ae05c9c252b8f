// Graceful shutdown at process level: SIGTERM to a host process while a handler runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { KEY_A, eventually, sign, startBody } from './support/callbacks';
import { databaseEnv, deliveryRows, openDatabase, readHostLog, spawnHost } from './support/child-host';
import type { ChildHost } from './support/child-host';
import { DATABASE_KINDS, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { postCallback } from './support/storm';
import { transpileForNode } from './support/transpile-for-node';
import type { NodeBuild } from './support/transpile-for-node';

const HOST = 'test/support/delivery-host.ts';
/** How long the slow handler works on each event. */
const HANDLER_MS = 2000;
/** The shutdown grace: far longer than the handler, so finishing inside it is the behaviour under test. */
const GRACE_MS = 30_000;

let build: NodeBuild;
beforeAll(() => {
  build = transpileForNode([HOST]);
});
afterAll(() => build?.remove());

describe.each(DATABASE_KINDS)('SIGTERM to a host with a running delivery (%s)', (kind) => {
  let db: TestDatabase;
  let dir: string;
  let ds: DataSource | undefined;
  let host: ChildHost | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'rc-sigterm-'));
  });
  afterAll(async () => {
    await host?.kill('SIGKILL');
    await ds?.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the running delivery finish, claims nothing new, and exits within the grace time', async () => {
    const log = join(dir, 'events.jsonl');
    host = await spawnHost('terminated', build.js(HOST), {
      ...databaseEnv(db),
      EVENT_LOG: log,
      CALLBACK_KEY: KEY_A,
      HANDLER_DELAY_MS: String(HANDLER_MS),
      GRACE_MS: String(GRACE_MS),
      LEASE_MS: '60000',
      POLL_MS: '20',
    });
    const running = `${kind}-term-running`;
    const later = `${kind}-term-later`;
    expect((await postCallback(host.url, sign(startBody(running)))).status).toBe(200);
    await eventually(() => readHostLog(log).some((l) => l.taskId === running && l.phase === 'start'), 10_000);

    const signalledAt = Date.now();
    const exit = host.kill('SIGTERM');
    // The server still takes callbacks while the delivery finishes: stored durably, but not run here.
    const stored = await postCallback(host.url, sign(startBody(later)));
    const code = await exit;
    const tookMs = Date.now() - signalledAt;

    expect(stored.status).toBe(200);
    // Nest re-raises the signal once the shutdown hooks are done, so the process ends by SIGTERM after
    // them; an exit by SIGTERM without the hooks would have left the delivery unfinished (checked below).
    expect([0, 'SIGTERM']).toContain(code);
    expect(tookMs).toBeLessThan(GRACE_MS);
    const lines = readHostLog(log);
    expect(lines.filter((l) => l.taskId === running && l.handler === 'slow').map((l) => l.phase)).toEqual([
      'start',
      'end',
    ]);
    expect(lines.filter((l) => l.taskId === later)).toEqual([]);

    ds = await openDatabase(db);
    const rows = await deliveryRows(ds);
    expect(rows.find((r) => r.taskId === running)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      leaseOwner: null,
    });
    expect(rows.find((r) => r.taskId === later)).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: null });
  });
});
