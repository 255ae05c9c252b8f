/**
 * Checks the recording callback configuration end to end: Huawei's callback configurations for the
 * app's domains against the app (URL, signing algorithm, subscribed events), and the local side (keys,
 * clock against Huawei's, database). Each finding comes with its fix.
 *
 *   npm run doctor -- [--listen RECORD_FILE_COMPLETE,RECORD_OVER] [--json]
 *
 * Settings come from the same environment as the app (see `npm run reconcile`), plus
 * RECORDING_PUBLIC_CALLBACK_URL (the URL Huawei should call) and RECORDING_RECONCILE_DOMAINS.
 *
 * Exit codes: 0 nothing wrong (warnings allowed), 1 at least one error found, 2 bad arguments or not configured.
 */
import { parseArgs } from 'node:util';
import type { DoctorReport, RecordingDoctor } from '../src/recording-callback';
import { UsageError, hostSettings, openReconcileContext, runMain } from './reconcile-context';

const EVENTS = ['RECORD_START', 'RECORD_NEW_FILE_START', 'RECORD_FILE_COMPLETE', 'RECORD_OVER', 'RECORD_FAILED'];

const USAGE = `Usage: npm run doctor -- [options]

  --listen LIST   Huawei event types the app's handlers need, comma-separated (default RECORD_FILE_COMPLETE,
                  what this project's host app logs); one of ${EVENTS.join(', ')}
  --json          print the report as JSON

Environment: as the app (DATABASE_URL or SQLITE_PATH, RECORDING_CALLBACK_KEYS, RECORDING_CALLBACK_ALGORITHM,
HUAWEI_CLOUD_AK, HUAWEI_CLOUD_SK, HUAWEI_CLOUD_PROJECT_ID, HUAWEI_CLOUD_REGION or HUAWEI_LIVE_ENDPOINT), plus
RECORDING_PUBLIC_CALLBACK_URL and RECORDING_RECONCILE_DOMAINS.
Exit codes: 0 nothing wrong (warnings allowed), 1 an error found, 2 bad arguments or not configured.`;

function print(report: DoctorReport): void {
  const lines = [`domains checked: ${report.domains.length ? report.domains.join(', ') : '(none configured)'}`];
  if (report.clockOffsetMs !== null) lines.push(`clock offset to Huawei: ${Math.round(report.clockOffsetMs / 1000)} s`);
  if (report.ok) lines.push('nothing wrong found');
  for (const f of report.findings) {
    lines.push(
      `${f.severity.toUpperCase()} ${f.code}${f.domain ? ` (${f.domain})` : ''}: ${f.message}`,
      `  fix: ${f.fix}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<number> {
  let values: { listen?: string; json?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: false,
      options: { listen: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const listened = (values.listen ?? 'RECORD_FILE_COMPLETE').split(',').map((e) => e.trim());
  const unknown = listened.filter((e) => !EVENTS.includes(e));
  if (unknown.length) throw new UsageError(`--listen: unknown event type ${unknown.join(', ')}`);
  const app = await openReconcileContext(hostSettings());
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const library = require('../src/recording-callback') as typeof import('../src/recording-callback');
    const report = await app.get<RecordingDoctor>(library.RecordingDoctor).check({ listened });
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else print(report);
    return report.findings.some((f) => f.severity === 'error') ? 1 : 0;
  } finally {
    await app.close();
  }
}

if (require.main === module) runMain(main, USAGE);
