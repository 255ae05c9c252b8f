/**
 * Preloaded (`node -r`) into a server under test when BENCH_SQL_STATS=1: counts and times every
 * better-sqlite3 statement execution (run/get/all/iterate and exec; BEGIN and COMMIT included, so the
 * commit's fsync is in there) and every `pg` client query (round trip until its answer, so waits for row
 * locks are in there too), grouped by statement kind and table. Every second it writes the second's
 * figures to stderr (the server's log file) as one `[bench-sql-stats] {json}` line, which the bench adds
 * up over the measured phase. The same wrapper goes into the module and the baseline, so their SQL costs
 * compare directly.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

type Stat = { n: number; ms: number };
let window = new Map<string, Stat>();

function kindOf(sql: string): string {
  const text = sql.replace(/\s+/g, ' ').trim();
  const verb = (/^(\w+)/.exec(text)?.[1] ?? '?').toUpperCase();
  // Several writes as one statement (data-modifying CTEs): name every table it writes.
  if (verb === 'WITH') return `WITH ${[...text.matchAll(/\bINTO "?(\w+)/gi)].map((m) => m[1]).join(' + ')}`;
  const table =
    /^UPDATE "?(\w+)/i.exec(text)?.[1] ?? /\bINTO "?(\w+)/i.exec(text)?.[1] ?? /\bFROM "?(\w+)/i.exec(text)?.[1];
  return table ? `${verb} ${table}` : text.slice(0, 40);
}

function record(sql: string, started: bigint): void {
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const key = kindOf(sql);
  const stat = window.get(key) ?? { n: 0, ms: 0 };
  stat.n++;
  stat.ms += ms;
  window.set(key, stat);
}

type Fn = (...args: unknown[]) => unknown;

function wrap(proto: Record<string, unknown>, name: string, sqlOf: (self: unknown, args: unknown[]) => string): void {
  const original = proto[name] as Fn | undefined;
  if (typeof original !== 'function') return;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    const started = process.hrtime.bigint();
    let result: unknown;
    try {
      result = original.apply(this, args);
      return result;
    } finally {
      const done = () => record(sqlOf(this, args), started);
      if (result instanceof Promise) result.then(done, done);
      else done();
    }
  };
}

/** The server's own copy of a package (resolved from the working directory, as the server resolves it). */
const load = createRequire(join(process.cwd(), 'package.json'));

try {
  const pg = load('pg') as { Client: { prototype: Record<string, unknown> } };
  // query(text, values) or query({ name, text, values }); with a callback it returns nothing to wait for.
  wrap(pg.Client.prototype, 'query', (_self, args) =>
    String(typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '?')),
  );
} catch (error) {
  process.stderr.write(`[bench-sql-stats] pg not counted: ${String(error)}\n`);
}

try {
  const Database = load('better-sqlite3') as new (file: string) => {
    prepare(sql: string): object;
    close(): void;
  };
  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
  probe.close();
  for (const name of ['run', 'get', 'all', 'iterate']) {
    wrap(statementProto, name, (self) => String((self as { source?: string }).source ?? '?'));
  }
  wrap(Database.prototype as unknown as Record<string, unknown>, 'exec', (_self, args) => String(args[0]));
} catch (error) {
  process.stderr.write(`[bench-sql-stats] better-sqlite3 not counted: ${String(error)}\n`);
}

setInterval(() => {
  if (!window.size) return;
  const byKind = Object.fromEntries(window);
  window = new Map();
  process.stderr.write(`[bench-sql-stats] ${JSON.stringify({ t: Date.now(), byKind })}\n`);
}, 1000).unref();
