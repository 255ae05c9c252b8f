// The simulator CLI (scripts/simulate.ts) run as a child process against the real host app on SQLite.
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { verifySignature } from '../src/recording-callback';
import { KEY_A } from './support/callbacks';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';
import { buildSimulator, runSimulator } from './support/simulator-cli';
import type { SimulatorBuild } from './support/simulator-cli';

interface Summary {
  ok: boolean;
  sent: number;
  tasks: number;
  tasksOver: number;
  tasksFailed: number;
  callbacks: number;
  duplicatesSent: number;
  byStatus: Record<string, number>;
  byResult: Record<string, number>;
}

type Line = Record<string, unknown>;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('simulator CLI against the host app (sqlite)', () => {
  let sim: SimulatorBuild;
  let db: TestDatabase;
  let app: NestExpressApplication;
  let url: string;
  let dir: string;
  // No inherited key and no development key file: each test says which key it uses.
  let env: Record<string, string>;

  beforeAll(async () => {
    sim = buildSimulator();
    dir = mkdtempSync(join(tmpdir(), 'rc-sim-e2e-'));
    env = { SQLITE_PATH: join(dir, 'none', 'db.sqlite') };
    db = await createTestDatabase('sqlite');
    app = await startApp(db, { host: {} });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/recording-callbacks`;
  });
  afterAll(async () => {
    await closeApp(app);
    await db.drop();
    sim?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends shuffled lifecycles with duplicates and failures; the summary and the stored tasks agree', async () => {
    const saved = join(dir, 'run.jsonl');
    const result = await runSimulator(
      sim,
      [
        '--url',
        url,
        '--key',
        KEY_A,
        '--count',
        '6',
        '--files',
        '2',
        '--formats',
        'HLS,MP4',
        '--fail-rate',
        '0.5',
        '--duplicate-rate',
        '0.2',
        '--shuffle',
        '--concurrency',
        '4',
        '--seed',
        '7',
        '--run-id',
        'e2e',
        '--save',
        saved,
        '--json',
      ],
      env,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    // The seed gives both outcomes and some duplicates, so every branch below is exercised.
    expect(summary.tasksOver).toBeGreaterThan(0);
    expect(summary.tasksFailed).toBeGreaterThan(0);
    expect(summary.duplicatesSent).toBeGreaterThan(0);
    expect(summary.tasks).toBe(6);
    expect(summary.sent).toBe(summary.callbacks + summary.duplicatesSent);
    expect(summary.byStatus).toEqual({ '200': summary.sent });
    expect(summary.byResult).toEqual({ accepted: summary.callbacks, duplicate: summary.duplicatesSent });
    expect(summary.ok).toBe(true);

    // What was sent, read back from the --save file, predicts what the app must have stored.
    const lines = readFileSync(saved, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    expect(lines).toHaveLength(summary.sent);
    for (const line of lines) {
      expect(verifySignature('HMACSHA256', line as never, String(line.auth_sign), [KEY_A])).toBe(true);
    }
    const taskIds = [...new Set(lines.map((l) => String(l.task_id)))].sort();
    expect(taskIds).toEqual(['sim-e2e-1', 'sim-e2e-2', 'sim-e2e-3', 'sim-e2e-4', 'sim-e2e-5', 'sim-e2e-6']);
    const formats = new Set(lines.map((l) => l.record_format));
    expect(formats).toEqual(new Set(['HLS', 'MP4']));

    const server = app.getHttpServer();
    const listed = await request(server).get('/recording-tasks?limit=100').expect(200);
    const listedIds = listed.body.items.map((t: { taskId: string }) => t.taskId) as string[];
    expect(listedIds.filter((id) => id.startsWith('sim-e2e-')).sort()).toEqual(taskIds);
    let failed = 0;
    for (const taskId of taskIds) {
      const events = lines.filter((l) => l.task_id === taskId);
      const isFailed = events.some((l) => l.event_type === 'RECORD_FAILED');
      failed += isFailed ? 1 : 0;
      const completes = new Set(
        events.filter((l) => l.event_type === 'RECORD_FILE_COMPLETE').map((l) => `${l.job_id}/${l.record_format}`),
      );
      const started = new Set(
        events.filter((l) => l.event_type === 'RECORD_NEW_FILE_START').map((l) => `${l.job_id}/${l.record_format}`),
      );
      const task = await request(server).get(`/recording-tasks/${taskId}`).expect(200);
      expect(task.body.status).toBe(isFailed ? 'FAILED' : 'OVER');
      // Two files in two formats: four completed files, or two completed and two still recording after a failure.
      expect(completes.size).toBe(isFailed ? 2 : 4);
      expect(started.size).toBe(4);
      const files = task.body.files as Array<{ jobId: string; recordFormat: string; status: string }>;
      expect(files).toHaveLength(4);
      for (const f of files) {
        expect(f.status).toBe(completes.has(`${f.jobId}/${f.recordFormat}`) ? 'COMPLETE' : 'RECORDING');
      }
    }
    expect(failed).toBe(summary.tasksFailed);
  });

  it('replays a saved run: every callback re-signed and answered as a duplicate', async () => {
    const saved = join(dir, 'replayed-run.jsonl');
    const run = ['--url', url, '--key', KEY_A, '--count', '2', '--files', '1', '--run-id', 'replayed'];
    // A run of its own, saved: every callback stored once.
    const first = await runSimulator(sim, [...run, '--duplicate-rate', '0', '--save', saved, '--json'], env);
    expect(first.code).toBe(0);
    const count = readFileSync(saved, 'utf8').trim().split('\n').length;
    expect((JSON.parse(first.stdout) as Summary).byResult).toEqual({ accepted: count });
    const result = await runSimulator(sim, ['replay', saved, '--url', url, '--key', KEY_A, '--json'], env);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.byStatus).toEqual({ '200': count });
    expect(summary.byResult).toEqual({ duplicate: count });
  });

  it('replays lines as saved with --as-is, and exits 1 with the refusals counted by status code', async () => {
    const file = join(dir, 'as-is.jsonl');
    const signStart = (taskId: string, ...more: string[]) =>
      runSimulator(sim, ['sign', '--event', 'RECORD_START', '--task-id', taskId, '--key', KEY_A, ...more], env);
    const fresh = await signStart('as-is-1');
    const expired = await signStart('as-is-2', '--expires=-3600');
    expect([fresh.code, expired.code]).toEqual([0, 0]);
    writeFileSync(file, `# saved callbacks\n${fresh.stdout}${expired.stdout}{"event_type":"RECORD_OVER"}\n`);
    const result = await runSimulator(sim, ['replay', file, '--url', url, '--as-is'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Sent 3 callbacks in /);
    expect(result.stdout).toMatch(/^ {2}200 +1 \(accepted 1\)$/m);
    expect(result.stdout).toMatch(/^ {2}401 +2$/m);
    expect(result.stdout).toContain('"reason":"expired"');
    await request(app.getHttpServer()).get('/recording-tasks/as-is-1').expect(200);
    await request(app.getHttpServer()).get('/recording-tasks/as-is-2').expect(404);
  });

  it('prints a signed body for curl that the app accepts, with fields set from the command line', async () => {
    const result = await runSimulator(
      sim,
      [
        'sign',
        '--event',
        'RECORD_FILE_COMPLETE',
        '--task-id',
        'signed-1',
        '--format',
        'flv',
        '--set',
        'file_size=2048',
        '--set',
        'obs_bucket=my-bucket',
        '--key',
        KEY_A,
      ],
      env,
    );
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as Line;
    expect(body).toMatchObject({
      event_type: 'RECORD_FILE_COMPLETE',
      task_id: 'signed-1',
      record_format: 'FLV',
      file_size: 2048,
    });
    expect(body.obs_bucket).toBe('my-bucket');
    expect(verifySignature('HMACSHA256', body as never, String(body.auth_sign), [KEY_A])).toBe(true);
    await request(app.getHttpServer()).post('/recording-callbacks').send(body).expect(200);
    const task = await request(app.getHttpServer()).get('/recording-tasks/signed-1').expect(200);
    expect(task.body.files).toEqual([
      expect.objectContaining({ recordFormat: 'FLV', status: 'COMPLETE', fileSize: 2048 }),
    ]);
  });

  it('sends in order per task by default and prints a text summary; the key may come from the environment', async () => {
    const result = await runSimulator(
      sim,
      [
        'run',
        '--url',
        url,
        '--count',
        '2',
        '--files',
        '1',
        '--formats',
        'MP4',
        '--fail-rate',
        '0',
        '--run-id',
        'ordered',
      ],
      { ...env, RECORDING_CALLBACK_KEYS: `${KEY_A},other` },
    );
    expect(result.code).toBe(0);
    // Per task: start, new file, file complete, over.
    expect(result.stdout).toMatch(/^Sent 8 callbacks in /);
    expect(result.stdout).toMatch(/^Answers by status code:\n {2}200 +8 \(accepted 8\)$/m);
    const task = await request(app.getHttpServer()).get('/recording-tasks/sim-ordered-2').expect(200);
    expect(task.body).toMatchObject({ status: 'OVER', recordFormat: 'MP4' });
  });

  it('counts refused answers: MD5 signatures sent to an HMACSHA256 app are 401s, exit code 1', async () => {
    const result = await runSimulator(
      sim,
      [
        '--url',
        url,
        '--key',
        KEY_A,
        '--algorithm',
        'MD5',
        '--count',
        '1',
        '--files',
        '1',
        '--formats',
        'HLS',
        // Every task ends RECORD_OVER, so the run is 4 callbacks (a RECORD_FAILED task would send 3).
        '--fail-rate',
        '0',
        '--run-id',
        'md5',
        '--json',
      ],
      env,
    );
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.byStatus).toEqual({ '401': 4 });
    expect(summary.ok).toBe(false);
  });

  describe('clear errors, exit code 2', () => {
    const BAD_KEY = 'short-key!';
    it.each([
      [
        'a URL that is not one',
        ['--url', 'localhost:3000', '--key', KEY_A],
        /--url "localhost:3000" is not a URL|--url must be http/,
      ],
      [
        'a URL with another scheme',
        ['--url', 'ftp://127.0.0.1/x', '--key', KEY_A],
        /--url must be http:\/\/ or https:\/\//,
      ],
      ['a missing URL', ['--key', KEY_A], /--url is required/],
      [
        'a key too short and with symbols',
        ['--url', 'http://127.0.0.1:1/x', '--key', BAD_KEY],
        /at least 32 characters, letters and digits only \(this one has 10 characters, some not letters or digits\)/,
      ],
      ['no key anywhere', ['--url', 'http://127.0.0.1:1/x'], /no callback key: pass --key KEY/],
      [
        'an unknown option',
        ['--url', 'http://127.0.0.1:1/x', '--key', KEY_A, '--cout', '3'],
        /Unknown option '--cout'/,
      ],
      [
        'a rate out of range',
        ['--url', 'http://127.0.0.1:1/x', '--key', KEY_A, '--duplicate-rate', '2'],
        /--duplicate-rate must be a number from 0 to 1/,
      ],
      [
        'an unknown format',
        ['--url', 'http://127.0.0.1:1/x', '--key', KEY_A, '--formats', 'HLS,AVI'],
        /--formats takes HLS, FLV, MP4/,
      ],
      [
        'a missing replay file',
        ['replay', '/no/such/file.jsonl', '--url', 'http://127.0.0.1:1/x', '--key', KEY_A],
        /cannot read \/no\/such\/file\.jsonl: no such file/,
      ],
      ['an unknown command', ['sned'], /unknown command "sned"/],
    ])('%s', async (_name, args, message) => {
      const result = await runSimulator(sim, args, env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain('--help');
      expect(result.stderr).not.toContain(BAD_KEY);
      expect(result.stdout).toBe('');
    });

    it('an unreachable URL stops at the first callback', async () => {
      const port = await closedPort();
      const result = await runSimulator(
        sim,
        ['--url', `http://127.0.0.1:${port}/recording-callbacks`, '--key', KEY_A],
        env,
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/recording-callbacks: ECONNREFUSED`),
      );
    });

    it('a URL without the callback route stops at the first callback', async () => {
      const result = await runSimulator(
        sim,
        ['--url', url.replace('/recording-callbacks', '/nope'), '--key', KEY_A],
        env,
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /answered 404: no callback route there\. The module's default path is \/recording-callbacks/,
      );
    });

    it('a replay file with a line that is not JSON names the line', async () => {
      const file = join(dir, 'broken.jsonl');
      writeFileSync(file, '{"event_type":"RECORD_START"}\n\n{not json\n');
      const result = await runSimulator(sim, ['replay', file, '--url', url, '--key', KEY_A], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${file}:3: not valid JSON`);
    });
  });

  it('prints usage with --help', async () => {
    const result = await runSimulator(sim, ['--help'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/simulate replay FILE --url URL/);
  });
});
