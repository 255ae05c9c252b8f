// One structured log line per callback (callback id, task id, event type, result, duration), and never a
// key or a signature in any log line, captured through a custom LoggerService on the real host app.
import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { buildRecordFileComplete, buildRecordStart, signRecordingCallback } from '../src/recording-callback/testing';
import { KEY_A, KEY_B } from './support/callbacks';
import { CapturingLogger } from './support/capturing-logger';
import type { CapturedLog } from './support/capturing-logger';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';

interface CallbackLine {
  msg: string;
  result: string;
  status: number;
  durationMs: number;
  callbackId?: number;
  taskId?: string;
  eventType?: string;
  publishDomain?: string;
  reason?: string;
}

/** What one host app logged while it answered one callback of each kind, and the signatures it was sent. */
interface Scene {
  logs: CapturingLogger;
  signatures: string[];
  first: { result: string; callbackId: number };
  file: { result: string; callbackId: number };
}

describe('callback logs of the host app (sqlite)', () => {
  const opened: Array<{ app: NestExpressApplication; db: TestDatabase }> = [];
  afterEach(async () => {
    for (const { app, db } of opened.splice(0)) {
      await closeApp(app);
      await db.drop();
    }
  });

  /**
   * Starts a host app on a fresh database and sends: a callback, its duplicate, a file callback, one
   * with another key (401), an invalid one (400), and one after its database was closed (503).
   */
  async function scene(): Promise<Scene> {
    const db = await createTestDatabase('sqlite');
    const logs = new CapturingLogger();
    const app = await startApp(db, { host: { keys: [KEY_A] }, logger: logs, openApi: true });
    opened.push({ app, db });
    const signatures: string[] = [];
    const post = (body: object, key = KEY_A) => {
      const signed = signRecordingCallback(body, { key });
      signatures.push(signed.auth_sign);
      return request(app.getHttpServer()).post('/recording-callbacks').send(signed);
    };
    const start = buildRecordStart({ task_id: 'log-1' });
    const first = (await post(start).expect(200)).body as Scene['first'];
    expect(first.result).toBe('accepted');
    await post(start).expect(200, { result: 'duplicate', callbackId: first.callbackId });
    const file = (await post(buildRecordFileComplete({ task_id: 'log-1', job_id: 'j1' })).expect(200))
      .body as Scene['file'];
    await post(buildRecordStart({ task_id: 'log-2' }), KEY_B).expect(401);
    await post(buildRecordFileComplete({ task_id: 'log-3', file_size: -5 })).expect(400);
    await app.get(DataSource).destroy();
    await post(buildRecordStart({ task_id: 'log-4' })).expect(503);
    return { logs, signatures, first, file };
  }

  it('logs one JSON line per callback, whatever its answer, with ids, event type, result and duration', async () => {
    const { logs, first, file } = await scene();
    expect(file.result).toBe('accepted');
    // Ids are increasing, not contiguous: the duplicate's refused insert may have used one up.
    expect(file.callbackId).toBeGreaterThan(first.callbackId);

    const lines = callbackLines(logs);
    expect(
      lines.map((l) => [l.level, l.line.result, l.line.status, l.line.taskId, l.line.eventType, l.line.callbackId]),
    ).toEqual([
      ['log', 'accepted', 200, 'log-1', 'RECORD_START', first.callbackId],
      ['log', 'duplicate', 200, 'log-1', 'RECORD_START', first.callbackId],
      ['log', 'accepted', 200, 'log-1', 'RECORD_FILE_COMPLETE', file.callbackId],
      ['warn', 'rejected', 401, 'log-2', 'RECORD_START', undefined],
      ['warn', 'invalid', 400, 'log-3', 'RECORD_FILE_COMPLETE', undefined],
      ['error', 'unavailable', 503, 'log-4', 'RECORD_START', undefined],
    ]);
    for (const { line } of lines) {
      expect(line.msg).toBe('recording callback');
      expect(typeof line.durationMs).toBe('number');
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
      expect(line.durationMs).toBeLessThan(30_000);
      expect(line.publishDomain).toBe('push.example.com');
    }
    expect(lines[3].line.reason).toBe('bad_signature');
  });

  it('never logs a key or a signature, in any line at any level', async () => {
    const { logs, signatures } = await scene();
    expect(signatures).toHaveLength(6);
    const everything = logs.text();
    // The app logged more than the callback lines (start-up, the storage failure), and all was checked.
    const failure = logs.of('error').find((l) => l.message.startsWith('{"msg":"storage unavailable"'));
    const failed = callbackLines(logs).find((l) => l.line.taskId === 'log-4');
    // One line for the failure, tied to the callback's line by the request id.
    expect(JSON.parse(failure!.message).requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(failure!.message).requestId).toBe((failed!.line as { requestId?: string }).requestId);
    expect(logs.lines.length).toBeGreaterThan(callbackLines(logs).length);
    for (const secret of [KEY_A, KEY_B, ...signatures]) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('auth_sign');
  });
});

/** The "recording callback" lines among what a logger captured, parsed. */
function callbackLines(logs: CapturingLogger): Array<CapturedLog & { line: CallbackLine }> {
  return logs
    .of()
    .filter((l) => l.context === 'RecordingCallback' && l.message.startsWith('{"msg":"recording callback"'))
    .map((l) => ({ ...l, line: JSON.parse(l.message) as CallbackLine }));
}
