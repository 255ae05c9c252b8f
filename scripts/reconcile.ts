/**
 * Runs one reconciliation window by hand: lists Huawei Live's recorded files and recovers those the
 * database lacks, as the app's `POST /recording-callbacks/reconcile` does.
 *
 *   npm run reconcile -- [--since 6h] [--domain push.example.com]... [--dry-run] [--json]
 *
 * Settings come from the same environment as the app (DATABASE_URL or SQLITE_PATH, HUAWEI_CLOUD_AK,
 * HUAWEI_CLOUD_SK, HUAWEI_CLOUD_PROJECT_ID, HUAWEI_CLOUD_REGION or HUAWEI_LIVE_ENDPOINT). Recovered files
 * are stored with their deliveries; this process runs no handler, a running app delivers them.
 *
 * Exit codes: 0 done, 1 the run failed (or a failure), 2 bad arguments or not configured.
 */
import { parseArgs } from 'node:util';
import type { Recovery, ReconcileService, ReconcileSummary } from '../src/recording-callback';
import { Failure, UsageError, hostSettings, openReconcileContext, runMain } from './reconcile-context';

const USAGE = `Usage: npm run reconcile -- [options]

  --since DURATION   the window, back from now: 90m, 6h, 2d or seconds (default RECORDING_RECONCILE_WINDOW_SECONDS,
                     6h; at most 30d)
  --domain NAME      list this ingest domain (repeatable; default: the whole project)
  --dry-run          list and compare only: print what would be recovered, store nothing
  --json             print the summary as JSON
  --no-progress      no progress bar (it shows only on a terminal)

Environment: as the app (DATABASE_URL or SQLITE_PATH; HUAWEI_CLOUD_AK, HUAWEI_CLOUD_SK, HUAWEI_CLOUD_PROJECT_ID,
HUAWEI_CLOUD_REGION or HUAWEI_LIVE_ENDPOINT).
Exit codes: 0 done, 1 the run failed, 2 bad arguments or not configured.`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90m`, `6h`, `2d`, or plain seconds, as seconds within 60 s .. 30 days. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * UNITS[m[2] || 's'] : NaN;
  if (!(seconds >= 60 && seconds <= 30 * 86_400)) {
    throw new UsageError(`--since must be a duration from 60s to 30d such as 6h, got "${text}"`);
  }
  return seconds;
}

function table(s: ReconcileSummary, dryRun: boolean): string {
  const rows: Array<[string, number]> = [
    ['listed', s.listed],
    ['matched', s.matched],
    [dryRun ? 'would recover' : 'recovered', s.recovered],
    ['stalled tasks', s.stalled],
    ['errors', s.errors.length],
  ];
  return rows.map(([k, v]) => `${k.padEnd(14)} ${v}`).join('\n');
}

function planTable(recover: Recovery[]): string {
  if (!recover.length) return 'nothing to recover';
  const lines = recover.map((r) => [
    `${r.item.publish_domain}/${r.item.app}/${r.item.stream}`,
    r.recordFormat,
    r.item.start_time ?? '-',
    r.synthetic ? `${r.taskId} (new)` : r.taskId,
    r.item.download_url ?? r.item.obs_addr?.object ?? '-',
  ]);
  const header = ['STREAM', 'FORMAT', 'START', 'TASK', 'FILE'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines]
    .map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  const parse = (args: string[]) =>
    parseArgs({
      args,
      allowPositionals: false,
      options: {
        since: { type: 'string' },
        domain: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  try {
    values = parse(process.argv.slice(2)).values;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const sinceSeconds = values.since === undefined ? undefined : parseDuration(values.since);
  const dryRun = values['dry-run'] === true;
  const config = hostSettings();
  const app = await openReconcileContext(config);
  const progress = !values['no-progress'] && !values.json && !!process.stderr.isTTY;
  let planned: Recovery[] = [];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const library = require('../src/recording-callback') as typeof import('../src/recording-callback');
    const service = app.get<ReconcileService>(library.ReconcileService);
    const summary = await service.run({
      sinceSeconds,
      dryRun,
      domains: values.domain,
      onPlan: (recover) => (planned = recover),
      onProgress: progress ? (p) => bar(p.phase, p.done, p.total) : undefined,
    });
    if (progress) process.stderr.write('\n');
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...summary, dryRun }, null, 2)}\n`);
    } else {
      if (dryRun) process.stdout.write(`${planTable(planned)}\n\n`);
      process.stdout.write(`${table(summary, dryRun)}\n`);
      for (const e of summary.errors) process.stdout.write(`error: ${e}\n`);
    }
    return summary.errors.length && summary.listed === 0 ? 1 : 0;
  } catch (e) {
    if ((e as { getStatus?: () => number }).getStatus?.() === 409) {
      throw new Failure('another reconciliation run holds the window (on the app or another command); try again later');
    }
    throw e;
  } finally {
    await app.close();
  }
}

function bar(phase: string, done: number, total: number | null): void {
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : 0;
  const shown = total ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}` : `${done} listed`;
  process.stderr.write(`\r${phase.padEnd(8)} ${shown}`);
}

if (require.main === module) runMain(main, USAGE);
