import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../ormconfig';
import { RECORDING_CALLBACK_MIGRATIONS } from '../src/recording-callback';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';

const run = promisify(execFile);
const MIGRATION_NAMES = RECORDING_CALLBACK_MIGRATIONS.map((m) => new m().name ?? m.name);
const TABLES = [
  'recording_callbacks',
  'recording_deliveries',
  'recording_files',
  'recording_task_transitions',
  'recording_tasks',
];

async function columnsOf(url: string): Promise<Map<string, string>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name LIKE 'recording\\_%'`,
    );
    return new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r.data_type]));
  } finally {
    await client.end();
  }
}

async function queryOne<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('migrations on PostgreSQL (what `npm run migration:run` does)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    // The DataSource the migration CLI uses: ormconfig's databaseOptions with DATABASE_URL.
    dataSource = new DataSource(databaseOptions({ databaseUrl: db.databaseUrl }));
    await dataSource.initialize();
  });
  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await db?.drop();
  });

  it('runs every migration once on a fresh database, and a second run is a no-op', async () => {
    expect(dataSource.options.type).toBe('postgres');
    const first = await dataSource.runMigrations();
    expect(first.map((m) => m.name)).toEqual(MIGRATION_NAMES);
    expect(await dataSource.showMigrations()).toBe(false);

    const before = await columnsOf(db.databaseUrl!);
    const second = await dataSource.runMigrations();
    expect(second).toEqual([]);
    expect(await columnsOf(db.databaseUrl!)).toEqual(before);
    const recorded = await queryOne<{ name: string }>(db.databaseUrl!, 'SELECT name FROM migrations ORDER BY id');
    expect(recorded.map((r) => r.name)).toEqual(MIGRATION_NAMES);
  });

  it('creates PostgreSQL column types: timestamptz, jsonb, bigint', async () => {
    const columns = await columnsOf(db.databaseUrl!);
    expect([...new Set([...columns.keys()].map((k) => k.split('.')[0]))].sort()).toEqual(TABLES);
    const expected: Record<string, string> = {
      'recording_tasks.last_event_at': 'timestamp with time zone',
      'recording_tasks.stalled_at': 'timestamp with time zone',
      'recording_tasks.created_at': 'timestamp with time zone',
      'recording_tasks.updated_at': 'timestamp with time zone',
      'recording_files.start_time': 'timestamp with time zone',
      'recording_files.end_time': 'timestamp with time zone',
      'recording_files.created_at': 'timestamp with time zone',
      'recording_files.updated_at': 'timestamp with time zone',
      'recording_files.file_size': 'bigint',
      'recording_task_transitions.at': 'timestamp with time zone',
      'recording_callbacks.received_at': 'timestamp with time zone',
      'recording_callbacks.payload': 'jsonb',
      'recording_deliveries.context': 'jsonb',
      'recording_deliveries.succeeded_handlers': 'jsonb',
    };
    expect(Object.fromEntries(Object.keys(expected).map((k) => [k, columns.get(k)]))).toEqual(expected);
    // No time without zone and no plain json anywhere in the module's tables.
    expect([...columns].filter(([, type]) => type === 'timestamp without time zone' || type === 'json')).toEqual([]);
  });

  it('creates the unique indexes that dedupe callbacks and identify files', async () => {
    const indexes = await queryOne<{ indexname: string; indexdef: string }>(
      db.databaseUrl!,
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename LIKE 'recording\\_%'`,
    );
    const unique = indexes.filter(
      (i) => i.indexdef.startsWith('CREATE UNIQUE INDEX') && !i.indexname.endsWith('_pkey'),
    );
    expect(unique.map((i) => i.indexdef.replace(/ USING btree/, '').replace(/^.* ON public\./, '')).sort()).toEqual([
      'recording_callbacks (dedupe_key)',
      'recording_files (task_id, job_id, record_format)',
    ]);
  });

  it('reverts every migration (migration:revert) and runs them again', async () => {
    for (let i = 0; i < MIGRATION_NAMES.length; i++) await dataSource.undoLastMigration();
    expect(
      await queryOne(db.databaseUrl!, `SELECT 1 FROM information_schema.tables WHERE table_name LIKE 'recording\\_%'`),
    ).toEqual([]);
    expect(await dataSource.showMigrations()).toBe(true);
    expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual(MIGRATION_NAMES);
    expect((await columnsOf(db.databaseUrl!)).get('recording_callbacks.payload')).toBe('jsonb');
  });

  // A host app owns the DataSource and loads the module's entities into it (autoLoadEntities). Its own
  // `typeorm migration:generate`, or `synchronize: true` in development, must then leave the module's
  // tables alone. The entities' column types are driver-neutral (timestamp, json) while the migrations
  // create timestamptz and jsonb, so the entities are `synchronize: false`: without it TypeORM would plan
  // to DROP and re-ADD those columns, losing their data.
  it('a host app that generates or synchronizes its own schema leaves the module tables unchanged', async () => {
    const plan = await dataSource.driver.createSchemaBuilder().log();
    expect(plan.upQueries.map((q) => q.query).filter((sql) => /recording_/.test(sql))).toEqual([]);
  });
});

describe('the real migration CLI against PostgreSQL', () => {
  let db: TestDatabase;
  let outDir: string;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    // `npm run migration:run` = build, then `typeorm migration:run -d dist/ormconfig.js`. Build into a
    // private folder (inside node_modules so package resolution works) rather than the shared dist/.
    // The cache folder exists only once something created it (a fresh npm ci removes it).
    const cache = join(process.cwd(), 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    outDir = mkdtempSync(join(cache, 'rc-migration-cli-'));
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], {
      timeout: 60_000,
    });
  });
  afterAll(async () => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    await db?.drop();
  });

  const cli = (command: string) =>
    run(process.execPath, ['node_modules/typeorm/cli.js', command, '-d', join(outDir, 'ormconfig.js')], {
      env: { ...process.env, DATABASE_URL: db.databaseUrl },
      timeout: 30_000,
    });

  it('migration:run applies the migrations once, then has nothing pending', async () => {
    const first = await cli('migration:run');
    for (const name of MIGRATION_NAMES)
      expect(first.stdout).toContain(`Migration ${name} has been executed successfully`);
    const second = await cli('migration:run');
    expect(second.stdout).toContain('No migrations are pending');
    const recorded = await queryOne<{ name: string }>(db.databaseUrl!, 'SELECT name FROM migrations ORDER BY id');
    expect(recorded.map((r) => r.name)).toEqual(MIGRATION_NAMES);
    expect((await columnsOf(db.databaseUrl!)).get('recording_files.file_size')).toBe('bigint');
  }, 60_000);
});

describe('host app instances starting at once on a fresh PostgreSQL database', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await db?.drop();
  });

  // A rolling deploy starts several instances together; each runs pending migrations at start. TypeORM
  // takes no lock for that, so the host app runs them under a PostgreSQL advisory lock
  // (runMigrationsLocked): the others wait, then find nothing pending.
  it('all instances come up and every migration is recorded once', async () => {
    const started = await Promise.allSettled([0, 1, 2].map(() => startApp(db, { host: { poolSize: 3 } })));
    try {
      expect(started.map((s) => (s.status === 'fulfilled' ? 'started' : String(s.reason)))).toEqual([
        'started',
        'started',
        'started',
      ]);
      const recorded = await queryOne<{ name: string }>(db.databaseUrl!, 'SELECT name FROM migrations ORDER BY id');
      expect(recorded.map((r) => r.name)).toEqual(MIGRATION_NAMES);
    } finally {
      for (const s of started) if (s.status === 'fulfilled') await closeApp(s.value);
    }
  });
});

describe('the migration lock, observed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await db?.drop();
  });

  // The race above could pass by luck (one instance done before the next begins). Here the test holds
  // the host app's advisory lock itself: every instance must wait for it before migrating, which
  // pg_locks shows, and none may come up until the test lets go. Without the lock they would start at once.
  it('each starting instance waits on the advisory lock, and all come up once it is free', async () => {
    const MIGRATION_LOCK = 727_465_300;
    const holder = new Client({ connectionString: db.databaseUrl });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    let settled = 0;
    const starting = [0, 1, 2].map(() =>
      startApp(db, { host: { poolSize: 3 } }).finally(() => {
        settled++;
      }),
    );
    try {
      const waiting = async () =>
        Number(
          (
            await holder.query(
              `SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
               WHERE l.locktype = 'advisory' AND l.objid = $1 AND NOT l.granted AND d.datname = current_database()`,
              [MIGRATION_LOCK],
            )
          ).rows[0].n,
        );
      const deadline = Date.now() + 20_000;
      while ((await waiting()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await waiting()).toBe(3);
      expect(settled).toBe(0);
      const tables = await holder.query(`SELECT to_regclass('recording_tasks') AS t`);
      expect(tables.rows[0].t).toBeNull(); // nobody migrated while the lock was held
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      await holder.end();
    }
    const started = await Promise.allSettled(starting);
    try {
      expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      const recorded = await queryOne<{ name: string }>(db.databaseUrl!, 'SELECT name FROM migrations ORDER BY id');
      expect(recorded.map((r) => r.name)).toEqual(MIGRATION_NAMES);
    } finally {
      for (const s of started) if (s.status === 'fulfilled') await closeApp(s.value);
    }
  }, 60_000);
});

describe('migrations on SQLite (the embedded default)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    dataSource = new DataSource(databaseOptions({ sqlitePath: db.sqlitePath }));
    await dataSource.initialize();
  });
  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await db?.drop();
  });

  it('runs every migration once, a second run is a no-op, WAL mode is on', async () => {
    expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual(MIGRATION_NAMES);
    expect(await dataSource.runMigrations()).toEqual([]);
    expect(await dataSource.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    const fileSize = (await dataSource.query(
      `SELECT type FROM pragma_table_info('recording_files') WHERE name = 'file_size'`,
    )) as Array<{ type: string }>;
    expect(fileSize).toEqual([{ type: 'bigint' }]);
  });

  it('a host app that generates or synchronizes its own schema leaves the module tables unchanged', async () => {
    const plan = await dataSource.driver.createSchemaBuilder().log();
    expect(plan.upQueries.map((q) => q.query).filter((sql) => /recording_/.test(sql))).toEqual([]);
  });
});
