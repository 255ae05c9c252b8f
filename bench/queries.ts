/**
 * `npm run bench:queries`: query cost at scale. Seeds the module's schema (bench/seed.ts: 1,000,000 tasks
 * and 5,000,000 stored callbacks by default; SEED_TASKS=10000 for a quick run), starts the production host
 * app on it, measures through HTTP with autocannon:
 *   GET /recording-tasks/:id                                   (random existing tasks)
 *   GET /recording-tasks?status=…&limit=20                     (RECORDING / OVER / FAILED in turn)
 *   GET /recording-tasks?publishDomain=…&app=…&stream=…&limit=20 (random streams)
 *   GET /recording-tasks?status=OVER&limit=20&cursor=…         (pages 2…50 of that list)
 * at BENCH_QUERY_CONNECTIONS (default "1,32") for BENCH_QUERY_DURATION seconds (default 10) each, then
 * prints the query plans (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL) of the exact SQL the
 * module's RecordingTasksService sends, captured through a TypeORM logger, and whether they use indexes.
 *
 * SQLite by default (the seeded file under data/bench/ is reused across runs: BENCH_RESEED=1 redoes it);
 * also PostgreSQL when DATABASE_URL is set (a throw-away database, seeded each time).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DataSource, Logger as TypeOrmLogger } from 'typeorm';
import { BenchDatabase, postgresDatabase, redact, sqliteAt, throwAwayName } from './lib/databases';
import { LoadResult, runLoad } from './lib/load';
import { ServerProcess, fromRoot, httpRequest, memoryOf } from './lib/proc';
import {
  TargetCheck,
  environment,
  envNumber,
  f0,
  f2,
  outputDir,
  printEnvironment,
  printTargets,
  table,
  writeJson,
} from './lib/report';
import { startServer } from './lib/servers';
import { BENCH_KEY, prng } from './lib/workload';
import { SeedInfo, defaultSeedPath, seed, seedPlan, seedStream, seedTaskId } from './seed';

const DURATION = envNumber('BENCH_QUERY_DURATION', 10, 1);
const CONNECTIONS = (process.env.BENCH_QUERY_CONNECTIONS || '1,32').split(',').map((c) => Number(c));

interface QueryRun {
  name: string;
  connections: number;
  load: LoadResult;
}

interface PlanReport {
  query: string;
  sql: string;
  plan: string[];
  usesIndexes: boolean;
  notes: string[];
}

/**
 * A list cursor pointing at the middle of the OVER list (half a million tasks deep at a million tasks):
 * what a client that paged far, or a bookmarked cursor, sends. Built like the module's opaque cursor
 * (base64url of [createdAt ISO, taskId]); the caller checks that the app accepts it.
 */
async function middleCursor(db: BenchDatabase, info: SeedInfo): Promise<string> {
  const [row] = await db.query<{ created_at: string | Date; task_id: string }>(
    `SELECT created_at, task_id FROM recording_tasks WHERE status = 'OVER'
     ORDER BY created_at DESC, task_id DESC LIMIT 1 OFFSET ${Math.floor(info.tasks * 0.45)}`,
  );
  const at = row.created_at instanceof Date ? row.created_at : new Date(`${row.created_at.replace(' ', 'T')}Z`);
  return Buffer.from(JSON.stringify([at.toISOString(), row.task_id])).toString('base64url');
}

async function measureQueries(proc: ServerProcess, info: SeedInfo, deep: string): Promise<QueryRun[]> {
  const random = prng(7);
  const pick = (n: number) => Math.floor(random() * n);
  const statuses = ['RECORDING', 'OVER', 'FAILED'];
  let s = 0;
  // Cursors of pages 2…50 of the OVER list, fetched once through the API.
  const cursors: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const { body } = await httpRequest(
      proc.port,
      `/recording-tasks?status=OVER&limit=20${cursor ? `&cursor=${cursor}` : ''}`,
    );
    cursor = (JSON.parse(body) as { nextCursor: string | null }).nextCursor;
    if (!cursor) break;
    cursors.push(cursor);
  }
  const deepCheck = await httpRequest(proc.port, `/recording-tasks?status=OVER&limit=20&cursor=${deep}`);
  if (deepCheck.status !== 200)
    console.log(`  (the app refused the deep cursor: ${deepCheck.status}; skipping that query)`);
  const check = await httpRequest(proc.port, `/recording-tasks/${seedTaskId(0)}`);
  if (check.status !== 200)
    throw new Error(`GET of a seeded task answered ${check.status}: ${check.body.slice(0, 200)}`);
  const queries: Array<[string, () => string]> = [
    ['GET /recording-tasks/:id', () => `/recording-tasks/${seedTaskId(pick(info.tasks))}`],
    ['list ?status=…', () => `/recording-tasks?status=${statuses[s++ % 3]}&limit=20`],
    [
      'list ?publishDomain&app&stream',
      () => {
        const st = seedStream(pick(info.tasks), info.tasks);
        return `/recording-tasks?publishDomain=${st.publishDomain}&app=${st.app}&stream=${st.stream}&limit=20`;
      },
    ],
    [
      'list ?status=OVER&cursor (pages 2-50)',
      () => `/recording-tasks?status=OVER&limit=20&cursor=${cursors[pick(cursors.length)]}`,
    ],
    ['list ?status=OVER&cursor (middle of the list)', () => `/recording-tasks?status=OVER&limit=20&cursor=${deep}`],
  ];
  const runs: QueryRun[] = [];
  for (const connections of CONNECTIONS) {
    for (const [name, path] of queries) {
      if (name.includes('pages 2-50') && !cursors.length) continue;
      if (name.includes('middle') && deepCheck.status !== 200) continue;
      process.stdout.write(`  ${name} at ${connections} connection(s)… `);
      const load = await runLoad({ port: proc.port, method: 'GET', path, connections, durationS: DURATION });
      console.log(`${f0(load.okPerSecond)}/s, p50 ${f2(load.latencyMs.p50)} ms, p99 ${f2(load.latencyMs.p99)} ms`);
      runs.push({ name, connections, load });
    }
  }
  return runs;
}

/** Captures the SQL (with parameters) that the module's query service sends, through a TypeORM logger. */
class CapturingLogger implements TypeOrmLogger {
  readonly queries: Array<{ sql: string; params: unknown[] }> = [];
  logQuery(query: string, parameters?: unknown[]): void {
    // Task reads only: the delivery poller and the watchdog query too, on their own timers.
    if (/^\s*select/i.test(query) && /"recording_(tasks|files)"/.test(query)) {
      this.queries.push({ sql: query, params: parameters ?? [] });
    }
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

interface AppContext {
  get(token: unknown, options?: { strict: boolean }): unknown;
  close(): Promise<void>;
}

interface TasksService {
  get(taskId: string): Promise<unknown>;
  list(query: Record<string, unknown>): Promise<{ nextCursor: string | null }>;
}

async function explainQueries(db: BenchDatabase, info: SeedInfo, deep: string): Promise<PlanReport[]> {
  // The real host app as an application context (no HTTP): Nest builds the module's query service, whatever
  // its constructor needs, and a capturing logger swapped onto the app's DataSource sees the exact SQL.
  const load = createRequire(__filename);
  const { NestFactory } = load('@nestjs/core') as {
    NestFactory: { createApplicationContext(module: unknown, options: object): Promise<AppContext> };
  };
  const { AppModule } = load(fromRoot('dist', 'src', 'app.module.js'));
  const { loadHostConfig } = load(fromRoot('dist', 'src', 'host', 'host-config.js'));
  const { RecordingTasksService } = load(
    fromRoot('dist', 'src', 'recording-callback', 'tasks', 'recording-tasks.service.js'),
  );
  const config = loadHostConfig({ ...db.env, RECORDING_CALLBACK_KEYS: BENCH_KEY, PORT: '0' });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: false });
  const logger = new CapturingLogger();
  const ds = app.get(DataSource) as DataSource;
  (ds as { logger: TypeOrmLogger }).logger = logger;
  const service = app.get(RecordingTasksService, { strict: false }) as TasksService;
  const reports: PlanReport[] = [];
  try {
    const st = seedStream(12345 % info.tasks, info.tasks);
    const page1 = await service.list({ status: 'OVER', limit: 20 });
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['GET one task', () => service.get(seedTaskId(4242 % info.tasks))],
      ['list status=RECORDING', () => service.list({ status: 'RECORDING', limit: 20 })],
      [
        'list publishDomain+app+stream',
        () => service.list({ publishDomain: st.publishDomain, app: st.app, stream: st.stream, limit: 20 }),
      ],
      [
        'list status=OVER, page 2',
        () => service.list({ status: 'OVER', limit: 20, cursor: page1.nextCursor ?? undefined }),
      ],
      ['list status=OVER, middle of the list', () => service.list({ status: 'OVER', limit: 20, cursor: deep })],
      ['list, no filter', () => service.list({ limit: 20 })],
    ];
    for (const [name, run] of cases) {
      logger.queries.length = 0;
      await run();
      const captured = [...logger.queries];
      for (const [n, q] of captured.entries()) {
        const explain = db.kind === 'sqlite' ? `EXPLAIN QUERY PLAN ${q.sql}` : `EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`;
        const rows = (await ds.query(explain, q.params)) as Array<Record<string, unknown>>;
        const plan =
          db.kind === 'sqlite' ? rows.map((r) => String(r.detail)) : rows.map((r) => String(r['QUERY PLAN']));
        reports.push({
          query: `${name} (${n + 1}/${captured.length})`,
          sql: q.sql,
          plan,
          ...judge(db.kind, plan, q.sql),
        });
      }
    }
  } finally {
    await app.close();
  }
  return reports;
}

/** Whether a plan reads the recording tables through indexes only (no full scan, no sort of all rows). */
function judge(kind: 'sqlite' | 'postgres', plan: string[], sql: string): { usesIndexes: boolean; notes: string[] } {
  const notes: string[] = [];
  // A keyset cursor only bounds the work when the index search includes it; else page N reads N rows.
  if (
    kind === 'sqlite' &&
    /"created_at" </.test(sql) &&
    !plan.some((l) => /SEARCH .*(created_at<|created_at,task_id\)<)/.test(l))
  ) {
    notes.push('the cursor condition is not part of the index search: a page N rows deep reads N index entries');
  }
  for (const line of plan) {
    if (kind === 'sqlite') {
      if (
        /\bSCAN (recording_\w+|\w+)\b/.test(line) &&
        !/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/.test(line)
      ) {
        notes.push(`full table scan: ${line.trim()}`);
      }
      if (/USE TEMP B-TREE FOR ORDER BY/.test(line)) notes.push('sorts its matches (temp b-tree)');
    } else {
      if (/Seq Scan on recording_/.test(line)) notes.push(`full table scan: ${line.trim()}`);
      if (/^\s*(->\s*)?Sort\s+\(/.test(line)) notes.push('sorts its matches');
      const removed = /Rows Removed by Filter: (\d+)/.exec(line);
      if (removed && Number(removed[1]) > 1000) notes.push(`reads and discards ${removed[1]} rows`);
    }
  }
  return { usesIndexes: !notes.some((n) => n.startsWith('full table scan')), notes: [...new Set(notes)] };
}

function printRuns(runs: QueryRun[]): void {
  console.log(
    '\n' +
      table(
        ['query', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors'],
        runs.map((r) => [
          r.name,
          r.connections,
          f0(r.load.okPerSecond),
          f2(r.load.latencyMs.p50),
          f2(r.load.latencyMs.p99),
          f2(r.load.latencyMs.max),
          r.load.non2xx,
          r.load.errors,
        ]),
      ),
  );
}

function printPlans(plans: PlanReport[]): void {
  console.log('\nQuery plans of the SQL the module sends');
  for (const p of plans) {
    console.log(
      `\n  ${p.query}: ${p.usesIndexes ? 'uses indexes' : 'DOES NOT use indexes'}${p.notes.length ? ` (${p.notes.join('; ')})` : ''}`,
    );
    // The column list is long and says nothing about the plan: keep FROM… onwards.
    console.log(
      `    ${p.sql
        .replace(/\s+/g, ' ')
        .replace(/^SELECT .*? FROM /, 'SELECT … FROM ')
        .slice(0, 400)}`,
    );
    for (const line of p.plan) console.log(`      ${line}`);
  }
}

async function benchDatabase(kind: 'sqlite' | 'postgres', out: string, adminUrl?: string) {
  const plan = seedPlan();
  let db: BenchDatabase;
  let info: SeedInfo;
  if (kind === 'sqlite') {
    const path = process.env.SQLITE_PATH || defaultSeedPath(plan.tasks);
    info = await seed({ sqlitePath: path }, plan, process.env.BENCH_RESEED === '1');
    db = sqliteAt(path);
  } else {
    db = await postgresDatabase(adminUrl!, throwAwayName('queries'));
    info = await seed({ databaseUrl: db.databaseUrl }, plan, true);
  }
  try {
    const deep = await middleCursor(db, info);
    const plans = await explainQueries(db, info, deep);
    const proc = await startServer('module', db, join(out, `module-${kind}.log`));
    let runs: QueryRun[];
    try {
      console.log(`\n${kind}: measuring through the host app (${DURATION} s per query and concurrency)`);
      runs = await measureQueries(proc, info, deep);
    } finally {
      console.log(`  app VmHWM ${f0(memoryOf(proc.pid)?.hwmMiB ?? NaN)} MiB`);
      await proc.stop();
    }
    printRuns(runs);
    printPlans(plans);
    return { database: kind, seed: info, runs, plans };
  } finally {
    await db.dispose();
  }
}

async function main(): Promise<void> {
  const env = environment();
  printEnvironment(env);
  const adminUrl = process.env.DATABASE_URL || undefined;
  const databases = (process.env.BENCH_DATABASES || (adminUrl ? 'sqlite,postgres' : 'sqlite')).split(',') as Array<
    'sqlite' | 'postgres'
  >;
  const out = outputDir('queries');
  console.log(
    `queries on ${databases.join(', ')}${adminUrl ? ` (PostgreSQL server ${redact(adminUrl)})` : ''}; logs and results in ${out}`,
  );
  const results = [];
  const checks: TargetCheck[] = [];
  for (const kind of databases) {
    const r = await benchDatabase(kind, out, adminUrl);
    results.push(r);
    const get1 =
      r.runs.find((q) => q.name.startsWith('GET') && q.connections === 1) ??
      r.runs.find((q) => q.name.startsWith('GET'));
    if (kind === 'sqlite' && get1) {
      const atScale = r.seed.tasks >= 1_000_000;
      checks.push({
        name: `GET one task p99 at ${r.seed.tasks} tasks (${get1.connections} connection${get1.connections > 1 ? 's' : ''}, SQLite)`,
        value: `${f2(get1.load.latencyMs.p99)} ms`,
        goal: '< 5 ms at 1,000,000 tasks',
        pass: atScale ? get1.load.latencyMs.p99 < 5 : null,
      });
    }
    checks.push({
      name: `${kind}: task query plans use indexes`,
      value: r.plans.every((p) => p.usesIndexes)
        ? 'all'
        : r.plans
            .filter((p) => !p.usesIndexes)
            .map((p) => p.query)
            .join(', '),
      goal: 'all',
      pass: r.plans.every((p) => p.usesIndexes),
    });
  }
  printTargets(checks);
  console.log(
    `\nresults: ${writeJson(out, 'results.json', { kind: 'queries', environment: env, durationS: DURATION, results, targets: checks })}`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
