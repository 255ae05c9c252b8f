// The real host app (src/main.ts) as a process: what its security settings from the environment do.
import { KEY_A, sign, startBody } from './support/callbacks';
import { spawnHost } from './support/child-host';
import type { ChildHost } from './support/child-host';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { transpileForNode } from './support/transpile-for-node';
import type { NodeBuild } from './support/transpile-for-node';

const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Starts the real host app (`src/main.ts`) as a process on the test database with `env` added. */
function startHost(build: NodeBuild, db: TestDatabase, env: Record<string, string>): Promise<ChildHost> {
  return spawnHost('host', build.js('src/main.ts'), {
    SQLITE_PATH: db.sqlitePath,
    PORT: '0',
    RECORDING_CALLBACK_KEYS: KEY_A,
    ...env,
  });
}

describe('host app process: security settings from the environment', () => {
  let build: NodeBuild;
  let db: TestDatabase;

  beforeAll(async () => {
    build = transpileForNode([]);
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => {
    build?.remove();
    await db?.drop();
  });

  it('writes every log line as one JSON object, also for a callback full of control characters', async () => {
    const host = await startHost(build, db, {});
    try {
      const forged = 'x\n[Nest] 1  - LOG [RecordingCallback] forged\u001b[2J\u009b\u2028';
      const res = await fetch(`${host.url}/recording-callbacks`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(sign(startBody(`proc-${forged}`, { stream: 's' }))),
      });
      expect(res.status).toBe(200);
    } finally {
      await host.kill('SIGTERM');
    }
    // The banner is printed as plain lines once; every other line is a JSON log entry.
    const lines = host.stdout().split('\n').filter(Boolean);
    const logLines = lines.filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(10);
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
    expect(logLines.some((l) => l.includes('proc-x'))).toBe(true);
    const banner = lines.filter((l) => !l.startsWith('{'));
    expect(banner[0]).toMatch(/^Recording callbacks: POST /);
    for (const line of lines) expect(line).not.toMatch(RAW_CONTROL);
    expect(host.stdout()).not.toContain('forged\u001b');
  });

  it('removes /docs with RECORDING_API_DOCS=off, serves it by default, and sends no X-Powered-By', async () => {
    const off = await startHost(build, db, { RECORDING_API_DOCS: 'off' });
    try {
      expect((await fetch(`${off.url}/docs`)).status).toBe(404);
      expect((await fetch(`${off.url}/docs-json`)).status).toBe(404);
      expect(off.stdout()).toContain('API docs:            off');
    } finally {
      await off.kill('SIGTERM');
    }
    const on = await startHost(build, db, {});
    try {
      const docs = await fetch(`${on.url}/docs-json`);
      expect(docs.status).toBe(200);
      expect(docs.headers.get('x-powered-by')).toBeNull();
      expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await on.kill('SIGTERM');
    }
  });

  it('opens replay only with RECORDING_QUERY_TOKEN, behind the token', async () => {
    const open = await startHost(build, db, {});
    try {
      expect((await fetch(`${open.url}/recording-callbacks/deliveries/1/replay`, { method: 'POST' })).status).toBe(403);
    } finally {
      await open.kill('SIGTERM');
    }
    const guarded = await startHost(build, db, { RECORDING_QUERY_TOKEN: 'ops-secret' });
    try {
      const replay = (headers: Record<string, string>) =>
        fetch(`${guarded.url}/recording-callbacks/deliveries/999999/replay`, { method: 'POST', headers });
      expect((await replay({})).status).toBe(401);
      // Past the guard: no such delivery.
      expect((await replay({ Authorization: 'Bearer ops-secret' })).status).toBe(404);
    } finally {
      await guarded.kill('SIGTERM');
    }
  });
});
