import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { CallbackStream, interleave, sleep, waitFor } from './support/callback-stream';
import type { Attempt } from './support/callback-stream';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';
import { startOwnPostgres } from './support/own-postgres';
import type { OwnPostgres } from './support/own-postgres';
import { baseUrlOf, buildStorm, getJson } from './support/storm';
import { sortKeys, verifyStoredState } from './support/storm-verify';

/**
 * The README's promise: an answer within about 15 s while the database is down (pool connect 5 s + query
 * 10 s, both wall-clock timeouts). Measured with 5 s of slack: the timeouts do not stretch on a slower
 * machine, but the event loop that runs them does, and these machines differ two to three times.
 */
const PROMISED_ANSWER_MS = 15_000;
const ANSWER_LIMIT_MS = PROMISED_ANSWER_MS + 5_000;
/** How soon after the server is back the app must store callbacks again, by itself (slack as above). */
const RECOVERY_LIMIT_MS = 20_000;
const DOWN_FOR_MS = 2_500;

describe('PostgreSQL stopped in the middle of a callback stream', () => {
  let pg: OwnPostgres;
  let app: NestExpressApplication;
  let url: string;
  let scratch: string;

  beforeAll(async () => {
    pg = await startOwnPostgres();
    scratch = mkdtempSync(join(tmpdir(), 'rc-faults-'));
    const db: TestDatabase = {
      kind: 'postgres',
      databaseUrl: await pg.createDatabase('rc_faults'),
      sqlitePath: join(scratch, 'unused.sqlite'),
      drop: async () => undefined,
    };
    app = await startApp(db, { host: { poolSize: 5 } });
    await app.listen(0, '127.0.0.1');
    url = baseUrlOf(app.getHttpServer());
  });
  afterAll(async () => {
    await closeApp(app);
    await pg?.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('answers 503 promptly while it is down, recovers by itself, and loses nothing answered 200', async () => {
    const storm = buildStorm({ seed: 0xfa17, tasks: 30, duplicateShare: 0, instances: 1, prefix: 'fault' });
    // Round-robin over the tasks, each task's events in lifecycle order.
    const ordered = interleave([...storm.byTask.values()]);
    const stream = new CallbackStream(url, ordered);
    stream.start(4, 30);

    const windows: Array<{
      mode: string;
      downFrom: number;
      downUntil: number;
      upAt: number;
      recoveredAfterMs: number;
    }> = [];
    for (const mode of ['fast', 'immediate'] as const) {
      const before = stream.accepted();
      await waitFor(
        () => stream.accepted() >= before + 60,
        20_000,
        `stream to store 60 callbacks before the ${mode} stop`,
      );
      const leftAtStop = stream.left;
      await pg.stop(mode);
      const downFrom = Date.now();
      await sleep(DOWN_FOR_MS);
      const downUntil = Date.now();
      expect(leftAtStop).toBeGreaterThan(100); // the stream was still going when the server went away
      await pg.start();
      const upAt = Date.now();
      await waitFor(
        () => stream.accepted(upAt) > 0,
        RECOVERY_LIMIT_MS,
        `the app to store a callback within ${RECOVERY_LIMIT_MS} ms after the ${mode} restart`,
      );
      const firstOk = stream.attempts.find((a) => a.answer.status === 200 && a.answer.startedAt >= upAt)!;
      windows.push({ mode, downFrom, downUntil, upAt, recoveredAfterMs: firstOk.answer.endedAt - upAt });
    }
    await stream.finish(40_000);
    process.stdout.write(
      `faults: ${stream.attempts.length} attempts, ${stream.attempts.filter((a) => a.answer.status === 503).length} answered 503, ` +
        `${stream.attempts.filter((a) => a.answer.body?.result === 'duplicate').length} duplicate, ` +
        `slowest ${Math.max(...stream.attempts.map((a) => a.answer.ms))} ms; ` +
        windows.map((w) => `${w.mode}: recovered ${w.recoveredAfterMs} ms after restart`).join(', ') +
        '\n',
    );

    // Only 200 or 503, never a 500, never a dropped connection, each within the limit.
    const wrong = stream.attempts.filter((a) => a.answer.status !== 200 && a.answer.status !== 503);
    expect(wrong.map((a) => `${a.answer.status} ${a.answer.error ?? JSON.stringify(a.answer.body)}`)).toEqual([]);
    const slow = stream.attempts.filter((a) => a.answer.ms >= ANSWER_LIMIT_MS);
    expect(slow.map((a) => `${a.answer.status} after ${a.answer.ms} ms`)).toEqual([]);
    expect(stream.attempts.filter((a) => a.answer.status === 503).every((a) => a.answer.body?.statusCode === 503)).toBe(
      true,
    );

    for (const w of windows) {
      // Requests made entirely while the server was down: there were some, and none claimed to be stored.
      const whileDown = stream.attempts.filter(
        (a) => a.answer.startedAt >= w.downFrom && a.answer.endedAt <= w.downUntil,
      );
      expect({ mode: w.mode, enough: whileDown.length >= 10 }).toEqual({ mode: w.mode, enough: true });
      expect({ mode: w.mode, statuses: [...new Set(whileDown.map((a) => a.answer.status))] }).toEqual({
        mode: w.mode,
        statuses: [503],
      });
    }

    // The stream completed: every callback was eventually answered 200, without restarting the app.
    expect(stream.left).toBe(0);
    // The app is still up and serving.
    const probe = await getJson<{ taskId: string }>(url, `/recording-tasks/${ordered[0].taskId}`);
    expect(probe.status).toBe(200);

    // Every callback answered 200 is in the database under the id it was given, with a content it was sent with.
    const dataSource = app.get(DataSource);
    const okByKey = new Map<string, Attempt[]>();
    for (const a of stream.attempts) {
      if (a.answer.status !== 200) continue;
      okByKey.set(a.callback.key, [...(okByKey.get(a.callback.key) ?? []), a]);
    }
    const sentByKey = new Map<string, Attempt[]>();
    for (const a of stream.attempts) sentByKey.set(a.callback.key, [...(sentByKey.get(a.callback.key) ?? []), a]);
    await verifyStoredState({
      prefix: 'fault',
      byTask: storm.byTask,
      urls: [url],
      dataSource,
      checkRow: (row, payload, callback) => {
        const ok = okByKey.get(callback.key) ?? [];
        const problems: string[] = [];
        if (ok.length === 0) problems.push(`row ${row.id}: never answered 200`);
        for (const a of ok) {
          if (a.answer.body?.callbackId !== row.id)
            problems.push(`row ${row.id}: answered callbackId ${a.answer.body?.callbackId}`);
        }
        // The stored copy is one of the attempts (a 503 can follow a commit whose acknowledgement was lost).
        const sent = (sentByKey.get(callback.key) ?? []).map(({ signed: { auth_sign: _s, ...rest } }) =>
          JSON.stringify(sortKeys(rest)),
        );
        if (!sent.includes(JSON.stringify(sortKeys(payload))))
          problems.push(`row ${row.id}: payload matches no attempt`);
        return problems;
      },
    });
  }, 120_000);
});
