/**
 * `npm run bench:seed`: fills the module's schema with a large, realistic history, fast, for measuring
 * query cost at scale. The schema comes from the module's own migrations (ormconfig's `databaseOptions`
 * DataSource with `migrationsRun`); rows are then generated inside the database (recursive CTE on SQLite,
 * generate_series on PostgreSQL) in batches of 100,000 tasks, with the secondary indexes dropped during
 * the load and re-created at the end (their definitions are read back from the database, not copied).
 *
 *   SEED_TASKS=1000000        tasks (2% RECORDING, newest; 5% FAILED; the rest OVER), ~5 per stream
 *   SEED_CALLBACKS=5×tasks    stored callbacks (START, NEW_FILE_START/FILE_COMPLETE pairs, OVER)
 *   SEED_FILES_PER_TASK=2     files per task
 *   SQLITE_PATH=data/bench/seed-<tasks>.sqlite   or   DATABASE_URL=postgres://…/<database>
 *
 * Task ids are `seed-` + 8 hex digits of (i × 2654435761 mod 2^32), a bijection, so ids look random but
 * any task i can be named: see {@link seedTaskId}. Deliveries are not seeded (they do not affect the task
 * queries). SQLite is not ANALYZEd (an app's database normally is not); PostgreSQL is, as autovacuum would.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Client } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { fromRoot } from './lib/proc';
import { envNumber, f1 } from './lib/report';

const BATCH = 100_000;
const SPAN_SECONDS = 90 * 86400;

/** Settings of one seed. */
export interface SeedPlan {
  tasks: number;
  callbacksPerTask: number;
  filesPerTask: number;
  /** Epoch seconds of the newest task. */
  endEpoch: number;
}

/** What a seeded database holds (also written beside a seeded SQLite file, for reuse). */
export interface SeedInfo extends SeedPlan {
  callbacks: number;
  files: number;
  seconds: number;
}

/** Id of seeded task `i`. */
export function seedTaskId(i: number): string {
  return `seed-${Number((BigInt(i) * 2654435761n) % 4294967296n)
    .toString(16)
    .padStart(8, '0')}`;
}

/** Stream of seeded task `i`: about five tasks per (domain, app, stream). */
export function seedStream(i: number, tasks: number): { publishDomain: string; app: string; stream: string } {
  const streams = Math.max(1, Math.floor(tasks / 5));
  const s = i % streams;
  return { publishDomain: DOMAINS[s % 3], app: APPS[Math.floor(s / 3) % 3], stream: `stream-${s}` };
}

const DOMAINS = ['push.example.com', 'push.live-a.example.net', 'push.edu.example.org'];
const APPS = ['live', 'edu', 'game'];

export function seedPlan(): SeedPlan {
  const tasks = envNumber('SEED_TASKS', 1_000_000, 1);
  const callbacks = envNumber('SEED_CALLBACKS', tasks * 5, 0);
  return {
    tasks,
    callbacksPerTask: Math.max(0, Math.round(callbacks / tasks)),
    filesPerTask: envNumber('SEED_FILES_PER_TASK', 2, 0),
    endEpoch: Math.floor(Date.now() / 1000),
  };
}

/** The default seeded SQLite file for a size. */
export const defaultSeedPath = (tasks: number) => fromRoot('data', 'bench', `seed-${tasks}.sqlite`);

// Shared SQL pieces, in each dialect. `i` is the task number, `k` the callback number within the task.
interface Dialect {
  taskId: string;
  stream: string;
  domain: string;
  app: string;
  created: string;
  status: string;
  lastEventAt: string;
  time: (seconds: string) => string;
}

function dialect(kind: 'sqlite' | 'postgres', plan: SeedPlan): Dialect {
  const streams = Math.max(1, Math.floor(plan.tasks / 5));
  const recordingFrom = Math.floor(plan.tasks * 0.98);
  const createdSeconds = `(${plan.endEpoch - SPAN_SECONDS} + (i * ${SPAN_SECONDS}) / ${plan.tasks})`;
  const time =
    kind === 'sqlite'
      ? (s: string) => `strftime('%Y-%m-%d %H:%M:%f', ${s}, 'unixepoch')`
      : (s: string) => `to_timestamp(${s})`;
  const hex =
    kind === 'sqlite'
      ? `printf('%08x', (i * 2654435761) % 4294967296)`
      : `lpad(to_hex((i::bigint * 2654435761) % 4294967296), 8, '0')`;
  const idx = (list: string[], expr: string) =>
    `(CASE ${list.map((v, n) => `WHEN ${expr} = ${n} THEN '${v}'`).join(' ')} END)`;
  const s = `(i % ${streams})`;
  return {
    taskId: `('seed-' || ${hex})`,
    stream: `('stream-' || ${s})`,
    domain: idx(DOMAINS, `(${s} % 3)`),
    app: idx(APPS, `((${s} / 3) % 3)`),
    created: time(createdSeconds),
    status: `(CASE WHEN i >= ${recordingFrom} THEN 'RECORDING' WHEN i % 20 = 7 THEN 'FAILED' ELSE 'OVER' END)`,
    // RECORDING tasks had a callback within the last hour, so the stalled-task watchdog leaves them alone.
    lastEventAt: `(CASE WHEN i >= ${recordingFrom} THEN ${time(`${plan.endEpoch} - (i % 3600)`)} ELSE ${time(`${createdSeconds} + 7200`)} END)`,
    time,
  };
}

function eventTypeSql(plan: SeedPlan): string {
  const last = plan.callbacksPerTask - 1;
  return `(CASE WHEN k = 0 THEN 'RECORD_START' WHEN k = ${last} AND k > 0 THEN 'RECORD_OVER' WHEN k % 2 = 1 THEN 'RECORD_NEW_FILE_START' ELSE 'RECORD_FILE_COMPLETE' END)`;
}

function statements(
  kind: 'sqlite' | 'postgres',
  plan: SeedPlan,
): { tasks: string; files: string; callbacks: string; transitions: string } {
  const d = dialect(kind, plan);
  const json = kind === 'sqlite' ? 'json_object' : 'jsonb_build_object';
  const jobId = `(${d.taskId} || '-job-' || ((k - 1) / 2))`;
  const fileJob = `(${d.taskId} || '-job-' || f)`;
  const dedupe =
    kind === 'sqlite'
      ? 'lower(hex(randomblob(32)))'
      : `md5(random()::text || i || '-' || k) || md5(i || '-' || k || random()::text)`;
  const event = eventTypeSql(plan);
  const at = d.time(`${plan.endEpoch - SPAN_SECONDS} + (i * ${SPAN_SECONDS}) / ${plan.tasks} + k * 60`);
  return {
    tasks: `INSERT INTO recording_tasks (task_id, project_id, publish_domain, app, stream, record_format, status,
        error_message, last_event_type, last_event_at, stalled_at, created_at, updated_at)
      SELECT ${d.taskId}, 'proj-seed-0001', ${d.domain}, ${d.app}, ${d.stream}, 'HLS', ${d.status},
        CASE WHEN ${d.status} = 'FAILED' THEN 'upload to OBS failed' END,
        CASE ${d.status} WHEN 'RECORDING' THEN 'RECORD_FILE_COMPLETE' WHEN 'FAILED' THEN 'RECORD_FAILED' ELSE 'RECORD_OVER' END,
        ${d.lastEventAt}, NULL, ${d.created}, ${d.lastEventAt}
      FROM range_i`,
    files: `INSERT INTO recording_files (task_id, job_id, record_format, status, download_url, asset_id, file_size,
        record_duration, start_time, end_time, width, height, created_at, updated_at)
      SELECT ${d.taskId}, ${fileJob}, 'HLS', 'COMPLETE',
        'https://obs.cn-north-4.myhuaweicloud.com/live/' || ${d.taskId} || '/' || ${fileJob} || '.m3u8',
        ${fileJob}, 1000000 + (i * 7919 + f) % 9000000, 120, ${d.created}, ${d.created}, 1280, 720, ${d.created}, ${d.created}
      FROM range_i CROSS JOIN range_f`,
    callbacks: `INSERT INTO recording_callbacks (dedupe_key, task_id, event_type, job_id, publish_domain, payload, received_at)
      SELECT ${dedupe}, ${d.taskId}, ${event},
        CASE WHEN ${event} IN ('RECORD_NEW_FILE_START', 'RECORD_FILE_COMPLETE') THEN ${jobId} END,
        ${d.domain},
        ${json}('project_id', 'proj-seed-0001', 'task_id', ${d.taskId}, 'event_type', ${event}, 'publish_domain', ${d.domain},
          'app', ${d.app}, 'stream', ${d.stream}, 'record_format', 'HLS', 'job_id', ${jobId},
          'download_url', 'https://obs.cn-north-4.myhuaweicloud.com/live/' || ${d.taskId} || '/' || ${jobId} || '.m3u8',
          'file_size', 3957964, 'record_duration', 120, 'auth_timestamp', ${plan.endEpoch}),
        ${at}
      FROM range_i CROSS JOIN range_k`,
    transitions: `INSERT INTO recording_task_transitions (task_id, from_status, to_status, event_type, job_id, callback_id, at)
      SELECT ${d.taskId}, CASE WHEN k = 0 THEN NULL ELSE 'RECORDING' END, CASE WHEN k = 0 THEN 'RECORDING' ELSE ${d.status} END,
        CASE WHEN k = 0 THEN 'RECORD_START' WHEN ${d.status} = 'FAILED' THEN 'RECORD_FAILED' ELSE 'RECORD_OVER' END, NULL, 0,
        ${d.time(`${plan.endEpoch - SPAN_SECONDS} + (i * ${SPAN_SECONDS}) / ${plan.tasks} + k * 3600`)}
      FROM range_i CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) AS two
      WHERE k = 0 OR ${d.status} <> 'RECORDING'`,
  };
}

/**
 * The host app's ormconfig, loaded from the build (dist/ormconfig.js) at run time, so the bench compiles
 * on its own (bench/tsconfig.json) and shares the app's typeorm instance and entity metadata.
 */
export function loadOrmConfig(): {
  databaseOptions: (env: { sqlitePath?: string; databaseUrl?: string; poolSize?: number }) => DataSourceOptions;
} {
  return createRequire(__filename)(fromRoot('dist', 'ormconfig.js'));
}

/** Runs the module's migrations on an empty database through ormconfig's `databaseOptions`. */
async function migrate(target: { sqlitePath?: string; databaseUrl?: string }): Promise<void> {
  const ds = new DataSource({ ...loadOrmConfig().databaseOptions(target), migrationsRun: true, logging: false });
  await ds.initialize();
  await ds.destroy();
}

const progress = (what: string, done: number, total: number, started: number) => {
  const text = `  ${what}: ${done}/${total} tasks (${f1((Date.now() - started) / 1000)} s)`;
  if (process.stdout.isTTY) process.stdout.write(`\r${text}   `);
  else if (done === total || (done / BATCH) % 5 === 0) console.log(text);
};

async function seedSqlite(path: string, plan: SeedPlan): Promise<void> {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    db.pragma('temp_store = MEMORY');
    const indexes = db
      .prepare<[], { name: string; sql: string }>(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name LIKE 'recording_%'`,
      )
      .all();
    for (const i of indexes) db.exec(`DROP INDEX "${i.name}"`);
    const sql = statements('sqlite', plan);
    const ranges = (from: number, to: number) =>
      `WITH RECURSIVE range_i(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM range_i WHERE i < ${to - 1}),
        range_f(f) AS (SELECT 0 UNION ALL SELECT f + 1 FROM range_f WHERE f < ${plan.filesPerTask - 1}),
        range_k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM range_k WHERE k < ${plan.callbacksPerTask - 1}) `;
    const started = Date.now();
    for (let from = 0; from < plan.tasks; from += BATCH) {
      const to = Math.min(plan.tasks, from + BATCH);
      db.transaction(() => {
        db.exec(ranges(from, to) + sql.tasks);
        if (plan.filesPerTask > 0) db.exec(ranges(from, to) + sql.files);
        if (plan.callbacksPerTask > 0) db.exec(ranges(from, to) + sql.callbacks);
        db.exec(ranges(from, to) + sql.transitions);
      })();
      progress('rows', to, plan.tasks, started);
    }
    if (process.stdout.isTTY) console.log('');
    for (const i of indexes) {
      const t = Date.now();
      db.exec(i.sql);
      console.log(`  index ${i.name} (${f1((Date.now() - t) / 1000)} s)`);
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

async function seedPostgres(url: string, plan: SeedPlan): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    const { rows: indexes } = await client.query<{ name: string; sql: string }>(
      `SELECT i.indexname AS name, i.indexdef AS sql FROM pg_indexes i
       WHERE i.schemaname = current_schema() AND i.tablename LIKE 'recording_%'
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    );
    for (const i of indexes) await client.query(`DROP INDEX "${i.name}"`);
    const sql = statements('postgres', plan);
    const ranges = (from: number, to: number) =>
      `WITH range_i AS (SELECT generate_series(${from}, ${to - 1})::bigint AS i),
        range_f AS (SELECT generate_series(0, ${plan.filesPerTask - 1}) AS f),
        range_k AS (SELECT generate_series(0, ${plan.callbacksPerTask - 1}) AS k) `;
    const started = Date.now();
    for (let from = 0; from < plan.tasks; from += BATCH) {
      const to = Math.min(plan.tasks, from + BATCH);
      await client.query('BEGIN');
      await client.query(ranges(from, to) + sql.tasks);
      if (plan.filesPerTask > 0) await client.query(ranges(from, to) + sql.files);
      if (plan.callbacksPerTask > 0) await client.query(ranges(from, to) + sql.callbacks);
      await client.query(ranges(from, to) + sql.transitions);
      await client.query('COMMIT');
      progress('rows', to, plan.tasks, started);
    }
    if (process.stdout.isTTY) console.log('');
    await client.query(`SET maintenance_work_mem = '256MB'`);
    for (const i of indexes) {
      const t = Date.now();
      await client.query(i.sql);
      console.log(`  index ${i.name} (${f1((Date.now() - t) / 1000)} s)`);
    }
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

/**
 * Seeds `target` (a new or empty database). For SQLite, an existing seeded file of the same plan is kept
 * unless `force`; the plan is recorded in `<file>.json`.
 */
export async function seed(
  target: { sqlitePath?: string; databaseUrl?: string },
  plan: SeedPlan,
  force = false,
): Promise<SeedInfo> {
  const infoFile = target.sqlitePath ? `${target.sqlitePath}.json` : undefined;
  if (target.sqlitePath && infoFile && existsSync(target.sqlitePath) && existsSync(infoFile) && !force) {
    const info = JSON.parse(readFileSync(infoFile, 'utf8')) as SeedInfo;
    if (
      info.tasks === plan.tasks &&
      info.callbacksPerTask === plan.callbacksPerTask &&
      info.filesPerTask === plan.filesPerTask
    ) {
      console.log(
        `reusing ${target.sqlitePath} (seeded ${info.tasks} tasks, ${info.callbacks} callbacks; BENCH_RESEED=1 to redo)`,
      );
      return info;
    }
  }
  if (target.sqlitePath) {
    mkdirSync(dirname(target.sqlitePath), { recursive: true });
    for (const suffix of ['', '-wal', '-shm', '.json']) rmSync(target.sqlitePath + suffix, { force: true });
  }
  const started = Date.now();
  console.log(
    `seeding ${target.sqlitePath ?? 'PostgreSQL'}: ${plan.tasks} tasks, ${plan.tasks * plan.callbacksPerTask} callbacks, ` +
      `${plan.tasks * plan.filesPerTask} files`,
  );
  await migrate(target);
  if (target.sqlitePath) await seedSqlite(target.sqlitePath, plan);
  else await seedPostgres(target.databaseUrl!, plan);
  const info: SeedInfo = {
    ...plan,
    callbacks: plan.tasks * plan.callbacksPerTask,
    files: plan.tasks * plan.filesPerTask,
    seconds: (Date.now() - started) / 1000,
  };
  if (infoFile) writeFileSync(infoFile, JSON.stringify(info, null, 2) + '\n');
  console.log(`seeded in ${f1(info.seconds)} s`);
  return info;
}

if (require.main === module) {
  const plan = seedPlan();
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const target = databaseUrl ? { databaseUrl } : { sqlitePath: process.env.SQLITE_PATH || defaultSeedPath(plan.tasks) };
  seed(target, plan, process.env.BENCH_RESEED === '1').catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
