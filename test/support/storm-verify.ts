import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource, Like } from 'typeorm';
import { RecordingTaskEntity, StoredCallbackEntity, TaskTransitionEntity } from '../../src/recording-callback';
import type { RecordingTaskView, TaskTransitionView } from '../../src/recording-callback';
import type { TestDatabase } from './databases';
import { startApp } from './start-app';
import { fileView, getJson, inParallel, postCallback, reduceAll, sortFiles } from './storm';
import type { Answer, StormCallback, StormSend } from './storm';

type Body = Record<string, unknown>;
const RANK: Record<string, number> = { RECORDING: 0, OVER: 1, FAILED: 2 };

/** Starts `count` host app instances on one database, each its own Nest app, pool and ephemeral port. */
export async function startInstances(db: TestDatabase, count: number): Promise<NestExpressApplication[]> {
  const apps: NestExpressApplication[] = [];
  for (let i = 0; i < count; i++) {
    const app = await startApp(db, { host: { poolSize: 10 } });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
  }
  return apps;
}

/** Short text for an answer that is not what a test expected. */
function describeAnswer(a: Answer | undefined): string {
  if (!a) return 'no answer recorded';
  return a.error
    ? `no HTTP answer (${a.error}) after ${a.ms} ms`
    : `${a.status} ${JSON.stringify(a.body)} after ${a.ms} ms`;
}

/**
 * Checks what the brief promises after a batch of callbacks: every answer 200; per distinct content exactly
 * one `accepted` and the same callbackId in every answer; one stored row per distinct content, holding the
 * accepted copy; each task equal to the reducer's result (over the events in lifecycle order for the
 * order-independent fields, over the stored rows in id order for everything); transitions one per status
 * change, a strictly increasing chain, equal to the replay.
 */
export async function verifyOutcome(opts: {
  prefix: string;
  byTask: Map<string, StormCallback[]>;
  sends: StormSend[];
  answers: Answer[];
  urls: string[];
  dataSource: DataSource;
}): Promise<void> {
  const { prefix, byTask, sends, answers, urls, dataSource } = opts;
  const distinct = [...byTask.values()].flat();

  // 1. Every request got 200.
  const notOk = answers.flatMap((a, i) =>
    a?.status === 200 ? [] : [`${sends[i].callback.taskId}#${sends[i].callback.seq}: ${describeAnswer(a)}`],
  );
  expect(notOk).toEqual([]);

  // 2. Per distinct content: exactly one `accepted`, the others `duplicate`, all with one callbackId.
  const perKey = new Map<string, { accepted: StormSend[]; results: string[]; ids: Set<unknown> }>();
  sends.forEach((send, i) => {
    const entry = perKey.get(send.callback.key) ?? { accepted: [], results: [], ids: new Set() };
    entry.results.push(String(answers[i].body?.result));
    entry.ids.add(answers[i].body?.callbackId);
    if (answers[i].body?.result === 'accepted') entry.accepted.push(send);
    perKey.set(send.callback.key, entry);
  });
  expect(perKey.size).toBe(distinct.length);
  const answerProblems = [...perKey.entries()].flatMap(([key, e]) => {
    const problems: string[] = [];
    if (e.accepted.length !== 1)
      problems.push(`${key.slice(0, 8)}: ${e.accepted.length} accepted (${e.results.join(',')})`);
    if (e.results.some((r) => r !== 'accepted' && r !== 'duplicate'))
      problems.push(`${key.slice(0, 8)}: results ${e.results.join(',')}`);
    if (e.ids.size !== 1 || typeof [...e.ids][0] !== 'number')
      problems.push(`${key.slice(0, 8)}: callbackIds ${[...e.ids].join(',')}`);
    return problems;
  });
  expect(answerProblems).toEqual([]);

  // 3 and 4: one stored row per distinct content, holding the accepted copy; state = reducer.
  await verifyStoredState({
    prefix,
    byTask,
    urls,
    dataSource,
    checkRow: (row, payload, callback) => {
      const e = perKey.get(callback.key);
      if (!e || e.accepted.length !== 1) return [`row ${row.id}: no single accepted answer`];
      const { auth_sign: _sign, ...expectedPayload } = e.accepted[0].signed;
      const problems: string[] = [];
      if (![...e.ids].includes(row.id))
        problems.push(`row ${row.id}: answers named callbackId ${[...e.ids].join(',')}`);
      if (JSON.stringify(sortKeys(payload)) !== JSON.stringify(sortKeys(expectedPayload))) {
        problems.push(`row ${row.id}: payload ${JSON.stringify(payload)} != ${JSON.stringify(expectedPayload)}`);
      }
      return problems;
    },
  });
}

/**
 * Checks the database after callbacks were sent: exactly one stored row per distinct content (and
 * `checkRow` for each), every task equal to the pure reducer's result (over the events in lifecycle
 * order for the order-independent fields, over the stored rows in id order for everything), and the
 * transitions one per status change, a strictly increasing chain, equal to the replay. Returns the rows.
 */
export async function verifyStoredState(opts: {
  prefix: string;
  byTask: Map<string, StormCallback[]>;
  urls: string[];
  dataSource: DataSource;
  /** Problems of one stored row, given the generated callback whose content it holds. */
  checkRow: (row: StoredCallbackEntity, payload: Record<string, unknown>, callback: StormCallback) => string[];
}): Promise<StoredCallbackEntity[]> {
  const { prefix, byTask, urls, dataSource } = opts;
  const distinct = [...byTask.values()].flat();
  const rows = await dataSource
    .getRepository(StoredCallbackEntity)
    .find({ where: { taskId: Like(`${prefix}-%`) }, order: { id: 'ASC' } });
  // Each row holds the content of one generated callback (matched by content, not by the module's key),
  // and each generated callback is stored exactly once.
  const byContent = new Map(distinct.map((c) => [contentOf(c.body), c]));
  expect(byContent.size).toBe(distinct.length);
  const matched = rows.map((row) => ({
    row,
    payload: payloadOf(row),
    callback: byContent.get(contentOf(payloadOf(row))),
  }));
  expect(matched.filter((m) => !m.callback).map((m) => m.row.id)).toEqual([]);
  expect(rows.length).toBe(distinct.length);
  expect(new Set(matched.map((m) => m.callback!.key)).size).toBe(distinct.length);
  const rowProblems = matched.flatMap((m) => opts.checkRow(m.row, m.payload, m.callback!));
  expect(rowProblems).toEqual([]);

  // 4. Each task against the pure reducer.
  const transitionRows = await dataSource
    .getRepository(TaskTransitionEntity)
    .find({ where: { taskId: Like(`${prefix}-%`) }, order: { id: 'ASC' } });
  const actual: unknown[] = [];
  const expected: unknown[] = [];
  const chainProblems: string[] = [];
  let t = 0;
  for (const [taskId, callbacks] of byTask) {
    const url = urls[t++ % urls.length];
    const got = await getJson<RecordingTaskView>(url, `/recording-tasks/${encodeURIComponent(taskId)}`);
    const history = await getJson<{ items: TaskTransitionView[] }>(
      url,
      `/recording-tasks/${encodeURIComponent(taskId)}/transitions`,
    );
    // (a) Order-independent state: the events in lifecycle order give the same status, error and files.
    const inOrder = reduceAll(
      callbacks.map((c) => ({ body: c.body, receivedAt: new Date(Date.UTC(2026, 0, 1) + c.seq) })),
    );
    // (b) Everything, including first-seen and latest fields: replay of the stored rows in id order.
    const stored = rows.filter((r) => r.taskId === taskId);
    const replay = reduceAll(
      stored.map((r) => ({
        body: payloadOf(r),
        receivedAt: r.receivedAt,
      })),
    );
    const trs = transitionRows.filter((r) => r.taskId === taskId);

    actual.push({
      taskId,
      http: got.status,
      status: got.body.status,
      errorMessage: got.body.errorMessage,
      projectId: got.body.projectId,
      publishDomain: got.body.publishDomain,
      app: got.body.app,
      stream: got.body.stream,
      files: sortFiles(got.body.files ?? []),
      replayed: {
        recordFormat: got.body.recordFormat,
        lastEventType: got.body.lastEventType,
        lastEventAt: got.body.lastEventAt,
      },
      transitions: trs.map((r) => ({
        from: r.fromStatus,
        to: r.toStatus,
        eventType: r.eventType,
        jobId: r.jobId,
        callbackId: r.callbackId,
        at: r.at.toISOString(),
      })),
      transitionsApi: history.body.items,
    });
    const task = inOrder.task!;
    expected.push({
      taskId,
      http: 200,
      status: task.status,
      errorMessage: task.errorMessage,
      projectId: task.projectId,
      publishDomain: task.publishDomain,
      app: task.app,
      stream: task.stream,
      files: sortFiles(inOrder.files.map(fileView)),
      replayed: {
        recordFormat: replay.task?.recordFormat,
        lastEventType: replay.task?.lastEventType,
        lastEventAt: replay.task?.lastEventAt.toISOString(),
      },
      transitions: replay.transitions.map((tr) => ({
        from: tr.fromStatus,
        to: tr.toStatus,
        eventType: tr.eventType,
        jobId: tr.jobId,
        callbackId: stored[tr.index].id,
        at: stored[tr.index].receivedAt.toISOString(),
      })),
      transitionsApi: replay.transitions.map((tr) => ({
        fromStatus: tr.fromStatus,
        toStatus: tr.toStatus,
        eventType: tr.eventType,
        jobId: tr.jobId,
        at: stored[tr.index].receivedAt.toISOString(),
      })),
    });
    // The chain itself, independent of the reducer: from null, each step up, ending at the task's status.
    trs.forEach((r, i) => {
      const from = i === 0 ? null : trs[i - 1].toStatus;
      if (r.fromStatus !== from)
        chainProblems.push(`${taskId}: transition ${i} from ${r.fromStatus}, expected ${from}`);
      if (from !== null && !(RANK[r.toStatus] > RANK[from]))
        chainProblems.push(`${taskId}: transition ${i} ${from} -> ${r.toStatus} does not go up`);
    });
    if (trs.length === 0 || trs[trs.length - 1].toStatus !== got.body.status)
      chainProblems.push(`${taskId}: chain does not end at ${got.body.status}`);
  }
  expect(actual).toEqual(expected);
  expect(chainProblems).toEqual([]);
  expect(transitionRows.filter((r) => !byTask.has(r.taskId)).map((r) => r.taskId)).toEqual([]);
  const tasks = await dataSource.getRepository(RecordingTaskEntity).find({ where: { taskId: Like(`${prefix}-%`) } });
  expect(tasks.map((task) => task.taskId).sort()).toEqual([...byTask.keys()].sort());
  return rows;
}

/** A stored payload as an object (jsonb on PostgreSQL, JSON text on SQLite). */
function payloadOf(row: StoredCallbackEntity): Record<string, unknown> {
  return (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as Record<string, unknown>;
}

/** A callback's content as the test compares it: without the signature fields, object keys sorted. */
function contentOf(body: Body): string {
  const { auth_timestamp: _t, auth_sign: _s, ...content } = body;
  return JSON.stringify(sortKeys(content));
}

/** A JSON value with object keys sorted, for comparisons that ignore key order. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, sortKeys((value as Body)[k])]),
    );
  }
  return value;
}

/** Sends every request of a storm, `concurrency` in flight, each to its instance. */
export async function sendStorm(sends: StormSend[], urls: string[], concurrency: number): Promise<Answer[]> {
  const answers = new Array<Answer>(sends.length);
  await inParallel(sends, concurrency, async (send, i) => {
    answers[i] = await postCallback(urls[send.instance % urls.length], send.signed);
  });
  return answers;
}

export function report(label: string, answers: Answer[], ms: number): void {
  const sorted = answers.map((a) => a.ms).sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  process.stdout.write(
    `${label}: ${answers.length} requests in ${ms} ms (p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms)\n`,
  );
}
