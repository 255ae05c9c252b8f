/**
 * Operator command for recording-callback deliveries: list them and replay dead (or other) ones.
 *
 *   npm run deliveries -- list [--status dead] [--task ID] [--limit N] [--json]
 *   npm run deliveries -- replay --status dead [--task ID]
 *   npm run deliveries -- replay --id 12
 *
 * It opens the same database as the host app (DATABASE_URL, else SQLITE_PATH, default
 * data/recordings.sqlite) and changes rows only; a running app's poller picks replayed deliveries up
 * within its poll interval (delivery.pollIntervalMs, 1 s by default), or the app's next start does.
 * Replay works exactly like `POST <callbackPath>/deliveries/:id/replay`: the delivery becomes pending
 * with a fresh attempt count, due now; handlers that already succeeded are skipped, except for a
 * delivery that was fully delivered, which is handed to every handler again.
 *
 * Exit codes: 0 done (also when nothing matched a --status replay), 1 failure (database, unknown
 * --id), 2 bad arguments.
 */
import { existsSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { replayStatement } from '../src/recording-callback/delivery/replay-statement';

const STATUSES = ['pending', 'failed', 'delivered', 'dead'] as const;
type Status = (typeof STATUSES)[number];

const USAGE = `Usage: npm run deliveries -- <command> [options]

Commands:
  list     Show deliveries, newest first.
             --status pending|failed|delivered|dead   only this status
             --task ID                                only this recording task
             --limit N                                at most N rows (1-1000, default 20)
             --json                                   print JSON instead of a table
  replay   Make deliveries due again (pending, attempts 0, next attempt now).
             --id N                                   one delivery, whatever its status
             --status dead|failed|delivered           every delivery with this status
             --task ID                                with --status: only this recording task
  help     Show this text.

Database: DATABASE_URL (postgres://...) or SQLITE_PATH (default data/recordings.sqlite), as for the app.
Exit codes: 0 done, 1 failure, 2 bad arguments.`;

/** A usage error: printed with the usage text, exit code 2. */
class UsageError extends Error {}
/** A failure to report plainly, exit code 1. */
class Failure extends Error {}

interface Args {
  command: 'list' | 'replay' | 'help';
  status?: Status;
  task?: string;
  limit: number;
  id?: number;
  json: boolean;
}

const FLAGS: Record<string, { value: boolean; commands: Args['command'][] }> = {
  status: { value: true, commands: ['list', 'replay'] },
  task: { value: true, commands: ['list', 'replay'] },
  limit: { value: true, commands: ['list'] },
  id: { value: true, commands: ['replay'] },
  json: { value: false, commands: ['list'] },
};

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('no command given');
  if (command === 'help' || command === '--help' || command === '-h')
    return { command: 'help', limit: 20, json: false };
  if (command !== 'list' && command !== 'replay') throw new UsageError(`unknown command "${command}"`);
  const given = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(rest[i]);
    if (!match) throw new UsageError(`unexpected argument "${rest[i]}"`);
    const [, name, inline] = match;
    const flag = FLAGS[name];
    if (!flag || !flag.commands.includes(command)) throw new UsageError(`${command} does not take --${name}`);
    if (given.has(name)) throw new UsageError(`--${name} given twice`);
    if (!flag.value) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      given.set(name, true);
      continue;
    }
    const value = inline ?? rest[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--')))
      throw new UsageError(`--${name} needs a value`);
    given.set(name, value);
  }
  const args: Args = { command, limit: 20, json: given.has('json') };
  const status = given.get('status') as string | undefined;
  if (status !== undefined) {
    if (!STATUSES.includes(status as Status))
      throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got "${status}"`);
    args.status = status as Status;
  }
  const task = given.get('task') as string | undefined;
  if (task !== undefined) {
    if (task === '' || task.length > 256) throw new UsageError('--task must be a task id (1 to 256 characters)');
    args.task = task;
  }
  const limit = given.get('limit') as string | undefined;
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000)
      throw new UsageError(`--limit must be a whole number from 1 to 1000, got "${limit}"`);
    args.limit = Number(limit);
  }
  const id = given.get('id') as string | undefined;
  if (id !== undefined) {
    if (!/^\d{1,10}$/.test(id) || Number(id) < 1)
      throw new UsageError(`--id must be a delivery id (a whole number >= 1), got "${id}"`);
    args.id = Number(id);
  }
  if (command === 'replay') {
    if ((args.id === undefined) === (args.status === undefined))
      throw new UsageError('replay needs exactly one of --id N or --status S');
    if (args.id !== undefined && args.task !== undefined)
      throw new UsageError('--task narrows --status; it cannot be combined with --id');
    if (args.status === 'pending')
      throw new UsageError('pending deliveries are already waiting to run; replay dead, failed or delivered ones');
    if (args.status === 'delivered' && args.task === undefined) {
      throw new UsageError(
        'replaying every delivered delivery would hand every callback to every handler again; add --task ID, or use --id N',
      );
    }
  }
  return args;
}

interface Row {
  id: number;
  callbackId: number | null;
  taskId: string;
  eventType: string;
  status: Status;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  succeededHandlers: string[];
  createdAt: string;
  updatedAt: string;
}

function toRow(r: Record<string, unknown>): Row {
  const status = String(r.status) as Status;
  const open = status === 'pending' || status === 'failed';
  const handlers = r.succeeded_handlers;
  return {
    id: Number(r.id),
    callbackId: r.callback_id === null ? null : Number(r.callback_id),
    taskId: String(r.task_id),
    eventType: String(r.event_type),
    status,
    attempts: Number(r.attempts),
    lastError: (r.last_error as string | null) ?? null,
    nextAttemptAt: open ? new Date(Number(r.next_attempt_at)).toISOString() : null,
    succeededHandlers: (typeof handlers === 'string' ? JSON.parse(handlers) : handlers) as string[],
    createdAt: new Date(Number(r.created_at)).toISOString(),
    updatedAt: new Date(Number(r.updated_at)).toISOString(),
  };
}

function table(rows: Row[]): string {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const lines = rows.map((r) => [
    String(r.id),
    r.callbackId === null ? '-' : String(r.callbackId),
    cut(r.taskId, 40),
    r.eventType,
    r.status,
    String(r.attempts),
    r.nextAttemptAt ?? '-',
    cut((r.lastError ?? '').replace(/\s+/g, ' '), 80),
  ]);
  const header = ['ID', 'CALLBACK', 'TASK', 'EVENT', 'STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines]
    .map((l) =>
      l
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function openDatabase(): Promise<DataSource> {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const sqlitePath = process.env.SQLITE_PATH || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Failure('DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite database)');
  }
  if (!databaseUrl) {
    const path = sqlitePath ?? 'data/recordings.sqlite';
    if (!existsSync(path))
      throw new Failure(`no SQLite database at ${path}: set SQLITE_PATH (or DATABASE_URL) as for the app`);
  }
  // Loaded here, not at the top: bad arguments are reported at once, without loading the library and
  // the database drivers (seconds). The script is compiled to CommonJS, where require() is the plain way.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DataSource } = require('typeorm') as typeof import('typeorm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { databaseOptions } = require('../ormconfig') as typeof import('../ormconfig');
  const ds = new DataSource({
    ...databaseOptions({ databaseUrl, sqlitePath, poolSize: 2 }),
    migrations: [],
    logging: false,
  });
  try {
    await ds.initialize();
  } catch (e) {
    throw new Failure(`cannot open the database: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    await ds.query('SELECT 1 FROM recording_deliveries WHERE 1 = 0');
  } catch {
    await ds.destroy();
    throw new Failure(
      'this database has no recording_deliveries table: start the app once (it runs the migrations) or run npm run migration:run',
    );
  }
  return ds;
}

/** `?` placeholders become `$1…` on PostgreSQL. */
function sql(ds: DataSource, text: string): string {
  let n = 0;
  return ds.options.type === 'postgres' ? text.replace(/\?/g, () => `$${++n}`) : text;
}

const COLUMNS =
  'id, callback_id, task_id, event_type, status, attempts, last_error, next_attempt_at, succeeded_handlers, created_at, updated_at';

async function list(ds: DataSource, args: Args): Promise<void> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (args.status) {
    where.push('status = ?');
    params.push(args.status);
  }
  if (args.task) {
    where.push('task_id = ?');
    params.push(args.task);
  }
  const rows: Array<Record<string, unknown>> = await ds.query(
    sql(
      ds,
      `SELECT ${COLUMNS} FROM recording_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    ),
    [...params, args.limit],
  );
  const items = rows.map(toRow);
  if (args.json) {
    process.stdout.write(JSON.stringify(items, null, 2) + '\n');
    return;
  }
  if (!items.length) {
    process.stdout.write('no deliveries matched\n');
    return;
  }
  process.stdout.write(table(items) + '\n');
  if (items.length === args.limit) process.stdout.write(`(first ${args.limit}; use --limit to see more)\n`);
}

async function replay(ds: DataSource, args: Args): Promise<void> {
  const now = Date.now();
  const pg = ds.options.type === 'postgres';
  const where = args.id !== undefined ? 'id = ?' : `status = ?${args.task ? ' AND task_id = ?' : ''}`;
  const filter = args.id !== undefined ? [args.id] : [args.status, ...(args.task ? [args.task] : [])];
  // One statement, the same as the HTTP replay: atomic, and on SQLite it takes the write lock first, so
  // it waits for a running app instead of failing. Deliveries running right now are left alone.
  const rows: Array<Record<string, unknown>> = await ds.query(sql(ds, replayStatement(pg, where)), [
    now,
    now,
    ...filter,
    now,
  ]);
  // PostgreSQL answers an UPDATE … RETURNING with [rows, count] through TypeORM.
  const replayed = (pg && Array.isArray(rows[0]) ? (rows[0] as unknown as Array<Record<string, unknown>>) : rows).map(
    (r) => ({
      id: Number(r.id),
      taskId: String(r.task_id),
      eventType: String(r.event_type),
    }),
  );
  replayed.sort((a, b) => a.id - b.id);
  if (args.id !== undefined && replayed.length === 0) throw new Failure(`no delivery ${args.id}`);
  if (replayed.length === 0) {
    process.stdout.write(`no ${args.status} deliveries${args.task ? ` of task ${args.task}` : ''}: nothing replayed\n`);
    return;
  }
  const noun = replayed.length === 1 ? 'delivery' : 'deliveries';
  process.stdout.write(`replayed ${replayed.length} ${noun} (now pending, due ${new Date(now).toISOString()}):\n`);
  for (const r of replayed) process.stdout.write(`  ${r.id}  ${r.eventType}  task ${r.taskId}\n`);
  process.stdout.write('A running app delivers them within its poll interval; otherwise its next start does.\n');
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`deliveries: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  let ds: DataSource | undefined;
  try {
    ds = await openDatabase();
    if (args.command === 'list') await list(ds, args);
    else await replay(ds, args);
    return 0;
  } catch (e) {
    process.stderr.write(`deliveries: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await ds?.destroy().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`deliveries: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
