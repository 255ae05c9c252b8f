/**
 * `npm run bench:soak`: SOAK_CALLBACKS (default 1,000,000) signed callbacks of the bench's lifecycle mix
 * (10% duplicates) through ONE production host app process, 32 connections, RSS sampled every second.
 * Warm-up is the first SOAK_WARMUP_FRACTION (0.1) of the callbacks. Growth = median RSS over the last 10%
 * of the callbacks against the median over the 10% right after warm-up; the target is under 10%.
 *
 *   SOAK_CALLBACKS=1000000  SOAK_CONNECTIONS=32  SOAK_MAX_SECONDS=3600 (stops earlier if reached)
 *   BENCH_DATABASES=postgres with DATABASE_URL to soak on PostgreSQL (default SQLite)
 * Bodies are generated on the fly here (a million would not fit the point of a memory test).
 */
import { join } from 'node:path';
import { openDeliveries, tableCounts } from './lib/databases';
import { runLoad } from './lib/load';
import { memoryOf, sleep } from './lib/proc';
import {
  TargetCheck,
  environment,
  envNumber,
  f0,
  f1,
  f2,
  outputDir,
  printEnvironment,
  printTargets,
  writeJson,
} from './lib/report';
import { freshDatabase, startServer } from './lib/servers';
import { CallbackWorkload } from './lib/workload';

const TOTAL = envNumber('SOAK_CALLBACKS', 1_000_000, 1000);
const CONNECTIONS = envNumber('SOAK_CONNECTIONS', 32, 1);
const MAX_SECONDS = envNumber('SOAK_MAX_SECONDS', 3600, 10);
const WARMUP_FRACTION = envNumber('SOAK_WARMUP_FRACTION', 0.1, 0);

interface Sample {
  s: number;
  responses: number;
  rssMiB: number;
}

const median = (values: number[]) => {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function main(): Promise<void> {
  const env = environment();
  printEnvironment(env);
  const kind = (process.env.BENCH_DATABASES || 'sqlite').split(',')[0] as 'sqlite' | 'postgres';
  const out = outputDir('soak');
  const db = await freshDatabase(kind, 'soak', process.env.DATABASE_URL || undefined);
  const logFile = join(out, `module-${kind}-soak.log`);
  console.log(
    `soak: ${TOTAL} callbacks, ${CONNECTIONS} connections, ${kind}, at most ${MAX_SECONDS} s; log ${logFile}`,
  );
  const proc = await startServer('module', db, logFile).catch(async (error: unknown) => {
    await db.dispose();
    throw error;
  });
  const samples: Sample[] = [];
  const started = Date.now();
  const workload = new CallbackWorkload({ seed: 3 });
  try {
    const startRss = memoryOf(proc.pid)?.rssMiB ?? NaN;
    const load = await runLoad({
      port: proc.port,
      method: 'POST',
      path: '/recording-callbacks',
      body: () => workload.next(),
      connections: CONNECTIONS,
      amount: TOTAL,
      maxS: MAX_SECONDS,
      onTick: (responses) => {
        const m = memoryOf(proc.pid);
        const s = (Date.now() - started) / 1000;
        if (m) samples.push({ s, responses, rssMiB: m.rssMiB });
        if (samples.length % 15 === 0) {
          console.log(`  ${f0(s)} s: ${responses} callbacks (${f0(responses / s)}/s), RSS ${f1(m?.rssMiB ?? NaN)} MiB`);
        }
      },
    });
    const done = load.responses;
    const warm = done * WARMUP_FRACTION;
    const refSamples = samples
      .filter((x) => x.responses >= warm && x.responses < warm + done * 0.1)
      .map((x) => x.rssMiB);
    const endSamples = samples.filter((x) => x.responses >= done * 0.9).map((x) => x.rssMiB);
    const afterWarm = samples.filter((x) => x.responses >= warm).map((x) => x.rssMiB);
    const reference = median(refSamples);
    const final = median(endSamples);
    const growth = final / reference - 1;
    const maxAfterWarm = Math.max(...afterWarm);
    const openAtStop = await openDeliveries(db);
    let open = openAtStop ?? 0;
    const drainStart = Date.now();
    while (open > 0 && Date.now() - drainStart < 120_000) {
      await sleep(500);
      open = (await openDeliveries(db)) ?? 0;
    }
    const rows = await tableCounts(db);
    const hwm = memoryOf(proc.pid)?.hwmMiB ?? NaN;
    console.log(
      `\n${done} callbacks in ${f1(load.durationS)} s (${f0(load.okPerSecond)}/s 2xx), p50 ${f2(load.latencyMs.p50)} ms, ` +
        `p99 ${f2(load.latencyMs.p99)} ms, max ${f1(load.latencyMs.max)} ms; non-2xx ${load.non2xx}, errors ${load.errors}`,
    );
    console.log(
      `RSS: ${f1(startRss)} MiB idle at start; ${f1(reference)} MiB after warm-up (median of ${refSamples.length} samples); ` +
        `${f1(final)} MiB over the last 10% (median of ${endSamples.length}); max after warm-up ${f1(maxAfterWarm)} MiB; VmHWM ${f1(hwm)} MiB`,
    );
    console.log(
      `deliveries open when the load stopped: ${openAtStop ?? '-'}, after draining: ${open}; rows: ` +
        Object.entries(rows)
          .map(([t, n]) => `${t.replace('recording_', '')} ${n}`)
          .join(', '),
    );
    const checks: TargetCheck[] = [
      {
        name: `RSS growth after warm-up over ${done} callbacks`,
        value: `${f1(growth * 100)}% (max after warm-up ${f1((maxAfterWarm / reference - 1) * 100)}%)`,
        goal: '< 10%',
        pass: done >= TOTAL * 0.99 ? growth < 0.1 : null,
      },
    ];
    if (done < TOTAL * 0.99) console.log(`NOTE: stopped at SOAK_MAX_SECONDS after ${done} of ${TOTAL} callbacks.`);
    printTargets(checks);
    const file = writeJson(out, 'results.json', {
      kind: 'soak',
      environment: env,
      settings: { callbacks: TOTAL, connections: CONNECTIONS, database: kind, warmupFraction: WARMUP_FRACTION },
      load,
      workload: workload.stats,
      rss: { startRss, reference, final, growth, maxAfterWarm, hwm },
      deliveries: { openAtStop, openAfterDrain: open },
      rows,
      samples,
      targets: checks,
    });
    console.log(`\nresults: ${file}`);
  } finally {
    await proc.stop();
    await db.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
