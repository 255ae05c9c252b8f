/**
 * Operator command for recording-callback deliveries: list them and replay dead (or other) ones.
 *
 *   npm run deliveries -- list [--status dead] [--task ID] [--limit N] [--json]
 *   npm run deliveries -- replay --status dead [--task ID] [--since 2026-12-01T00:00:00Z]
 *   npm run deliveries -- replay --id 12
 *
 * It opens the same database as the host app (DATABASE_URL, else SQLITE_PATH, default
 * data/recordings.sqlite) through the library itself: a Nest application context with
 * RecordingCallbackModule (running no deliveries, `delivery.run: false`) and its DeliveriesService, so
 * the command does exactly what `GET <callbackPath>/deliveries` and `POST …/deliveries/:id/replay` do.
 * A running app's poller picks replayed deliveries up within its poll interval
 * (delivery.pollIntervalMs, 1 s by default), or the app's next start does.
 *
 * Exit codes: 0 done (also when nothing matched a --status replay), 1 failure (database, unknown
 * --id), 2 bad arguments.
 */
import { existsSync } from 'node:fs';
import { parseArgs as parseNodeArgs } from 'node:util';
import type { DeliveriesService, DeliveryView } from '../src/recording-callback';
import { startLibraryContext } from './library-context';

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
             --since TIME                             with --status: only those last changed at or after
                                                      TIME (ISO-8601, e.g. 2026-12-01T00:00:00Z)
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
  since?: Date;
  json: boolean;
}

const FLAGS = {
  list: { status: { type: 'string' }, task: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  replay: { status: { type: 'string' }, task: { type: 'string' }, id: { type: 'string' }, since: { type: 'string' } },
} as const;

/** node:util parseArgs, with its errors said in this command's words. */
function readFlags(command: 'list' | 'replay', rest: string[]): Map<string, string | boolean> {
  const options = Object.fromEntries(
    Object.entries(FLAGS[command]).map(([name, o]) => [name, { ...o, multiple: true }]),
  ) as Record<string, { type: 'string' | 'boolean'; multiple: true }>;
  let parsed: ReturnType<typeof parseNodeArgs>;
  try {
    parsed = parseNodeArgs({ args: rest, options, strict: true, allowPositionals: false });
  } catch (e) {
    const { code, message } = e as { code?: string; message: string };
    const flag = /'(--?[a-z]+)/i.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`${command} does not take ${flag}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new UsageError(`unexpected argument "${/'([^']*)'/.exec(message)?.[1] ?? ''}"`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const kind = (FLAGS[command] as Record<string, { type: string }>)[flag.slice(2)]?.type;
      throw new UsageError(kind === 'boolean' ? `${flag} takes no value` : `${flag} needs a value`);
    }
    throw new UsageError(message);
  }
  const given = new Map<string, string | boolean>();
  for (const [name, values] of Object.entries(parsed.values)) {
    const list = values as Array<string | boolean>;
    if (list.length > 1) throw new UsageError(`--${name} given twice`);
    given.set(name, list[0]);
  }
  return given;
}

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('no command given');
  if (command === 'help' || command === '--help' || command === '-h')
    return { command: 'help', limit: 20, json: false };
  if (command !== 'list' && command !== 'replay') throw new UsageError(`unknown command "${command}"`);
  const given = readFlags(command, rest);
  const text = (name: string) => given.get(name) as string | undefined;
  const args: Args = { command, limit: 20, json: given.get('json') === true };
  const status = text('status');
  if (status !== undefined) {
    if (!STATUSES.includes(status as Status))
      throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got "${status}"`);
    args.status = status as Status;
  }
  const task = text('task');
  if (task !== undefined) {
    if (task === '' || task.length > 256) throw new UsageError('--task must be a task id (1 to 256 characters)');
    args.task = task;
  }
  const limit = text('limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000)
      throw new UsageError(`--limit must be a whole number from 1 to 1000, got "${limit}"`);
    args.limit = Number(limit);
  }
  const id = text('id');
  if (id !== undefined) {
    if (!/^\d{1,10}$/.test(id) || Number(id) < 1)
      throw new UsageError(`--id must be a delivery id (a whole number >= 1), got "${id}"`);
    args.id = Number(id);
  }
  const since = text('since');
  if (since !== undefined) {
    const at = new Date(since);
    if (!/^\d{4}-\d{2}-\d{2}/.test(since) || Number.isNaN(at.getTime()))
      throw new UsageError(`--since must be an ISO-8601 time such as 2026-12-01T00:00:00Z, got "${since}"`);
    args.since = at;
  }
  if (command === 'replay') checkReplay(args);
  return args;
}

function checkReplay(args: Args): void {
  if ((args.id === undefined) === (args.status === undefined))
    throw new UsageError('replay needs exactly one of --id N or --status S');
  if (args.id !== undefined && (args.task !== undefined || args.since !== undefined))
    throw new UsageError('--task and --since narrow --status; they cannot be combined with --id');
  if (args.status === 'pending')
    throw new UsageError('pending deliveries are already waiting to run; replay dead, failed or delivered ones');
  if (args.status === 'delivered' && args.task === undefined) {
    throw new UsageError(
      'replaying every delivered delivery would hand every callback to every handler again; add --task ID, or use --id N',
    );
  }
}

function table(rows: DeliveryView[]): string {
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

/** The library, started as an application context on the app's database; close it when done. */
interface Library {
  deliveries: DeliveriesService;
  close(): Promise<void>;
}

async function openLibrary(): Promise<Library> {
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
  // Loaded here, not at the top: bad arguments are reported at once, without loading Nest, the library
  // and the database drivers (seconds). The script is compiled to CommonJS, where require() is the plain way.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Module } = require('@nestjs/common') as typeof import('@nestjs/common');
  const { TypeOrmModule } = require('@nestjs/typeorm') as typeof import('@nestjs/typeorm');
  const library = require('../src/recording-callback') as typeof import('../src/recording-callback');
  const { databaseOptions } = require('../ormconfig') as typeof import('../ormconfig');
  /* eslint-enable @typescript-eslint/no-require-imports */

  @Module({
    imports: [
      TypeOrmModule.forRoot({
        ...databaseOptions({ databaseUrl, sqlitePath, poolSize: 2 }),
        logging: false,
        retryAttempts: 0,
      }),
      // Signatures, polling, the watchdog and handlers play no part here: this process only reads and
      // replays, and must never run a delivery (it has no handlers).
      library.RecordingCallbackModule.forRoot({
        auth: 'none',
        delivery: { run: false, pollIntervalMs: 0 },
        watchdog: { checkIntervalMs: 0 },
      }),
    ],
  })
  class DeliveriesCliModule {}

  const app = await startLibraryContext(DeliveriesCliModule);
  return { deliveries: app.get(library.DeliveriesService), close: () => app.close() };
}

async function list(lib: Library, args: Args): Promise<void> {
  const { items } = await lib.deliveries.list({ status: args.status, taskId: args.task, limit: args.limit });
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

async function replay(lib: Library, args: Args): Promise<void> {
  const started = new Date();
  let replayed: Array<{ id: number; taskId: string; eventType: string }>;
  if (args.id !== undefined) {
    try {
      const one = await lib.deliveries.replay(args.id);
      replayed = [one];
    } catch (e) {
      const status = (e as { getStatus?: () => number }).getStatus?.();
      if (status === 404) throw new Failure(`no delivery ${args.id}`);
      if (status === 409) throw new Failure(`delivery ${args.id} is running now; replay it once it has finished`);
      throw e;
    }
  } else {
    const status = args.status as Exclude<Status, 'pending'>;
    replayed = await lib.deliveries.replayMatching({ status, taskId: args.task, since: args.since });
  }
  if (replayed.length === 0) {
    const narrowed = `${args.task ? ` of task ${args.task}` : ''}${args.since ? ` since ${args.since.toISOString()}` : ''}`;
    process.stdout.write(`no ${args.status} deliveries${narrowed}: nothing replayed\n`);
    return;
  }
  const noun = replayed.length === 1 ? 'delivery' : 'deliveries';
  process.stdout.write(`replayed ${replayed.length} ${noun} (now pending, due ${started.toISOString()}):\n`);
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
  let lib: Library | undefined;
  try {
    lib = await openLibrary();
    if (args.command === 'list') await list(lib, args);
    else await replay(lib, args);
    return 0;
  } catch (e) {
    process.stderr.write(`deliveries: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await lib?.close().catch(() => undefined);
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
