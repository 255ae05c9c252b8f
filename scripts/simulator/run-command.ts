import { parseArgs } from 'node:util';
import { buildRecordingLifecycle } from '../../src/recording-callback/testing';
import { UsageError } from './usage';
import { integer, rate, targetUrl, signing, formats } from './options';
import type { Body } from './options';
import { mulberry32, uuid, shuffle } from './random';
import { Sender, preflight, pool } from './sender';
import { Progress, summarise, writeSaved } from './report';
import { listingItem, writeListing } from './listing';

/** `simulate run`: sends recording lifecycles (tasks, files, formats, failures, duplicates). */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      algorithm: { type: 'string' },
      expires: { type: 'string' },
      count: { type: 'string' },
      files: { type: 'string' },
      formats: { type: 'string' },
      'fail-rate': { type: 'string' },
      'duplicate-rate': { type: 'string' },
      'lose-rate': { type: 'string' },
      listing: { type: 'string' },
      shuffle: { type: 'boolean' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      'run-id': { type: 'string' },
      domain: { type: 'string' },
      app: { type: 'string' },
      save: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
  });
  const url = targetUrl(values.url);
  const signWith = signing(values);
  const count = integer('count', values.count, 10, 1, 1_000_000);
  const files = integer('files', values.files, 2, 1, 1000);
  const recordFormats = formats(values.formats);
  const failRate = rate('fail-rate', values['fail-rate'], 0.1);
  const duplicateRate = rate('duplicate-rate', values['duplicate-rate'], 0);
  const loseRate = rate('lose-rate', values['lose-rate'], 0);
  const concurrency = integer('concurrency', values.concurrency, 8, 1, 1000);
  const seed = integer('seed', values.seed, Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1);
  const timeoutMs = integer('timeout', values.timeout, 10_000, 1);
  const runId = values['run-id'] ?? Date.now().toString(36);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(runId)) throw new UsageError('--run-id takes letters, digits, "-" and "_" only');
  const random = mulberry32(seed);

  // Each task is one lifecycle; duplicates are re-sends of a callback later in the same task.
  const outcomes = { over: 0, failed: 0 };
  let duplicates = 0;
  let lost = 0;
  const listing: Array<Record<string, unknown>> = [];
  const tasks: Body[][] = [];
  for (let n = 1; n <= count; n++) {
    const outcome = random() < failRate ? 'failed' : 'over';
    outcomes[outcome]++;
    const events = buildRecordingLifecycle({
      taskId: `sim-${runId}-${n}`,
      files,
      formats: recordFormats,
      outcome,
      common: { publish_domain: values.domain ?? 'push.example.com', app: values.app ?? 'live', stream: `stream-${n}` },
      jobId: () => uuid(random),
    }) as Body[];
    // Every finished file is listed by Huawei; --lose-rate drops a share of their callbacks, as an app
    // that was down, or a template that does not send them, would miss them.
    const kept = events.filter((event) => {
      if (event.event_type !== 'RECORD_FILE_COMPLETE') return true;
      listing.push(listingItem(event));
      if (random() >= loseRate) return true;
      lost++;
      return false;
    });
    events.splice(0, events.length, ...kept);
    const stream: Body[] = [...events];
    for (const event of events) {
      if (random() < duplicateRate) {
        duplicates++;
        const after = stream.indexOf(event) + 1;
        stream.splice(after + Math.floor(random() * (stream.length - after + 1)), 0, event);
      }
    }
    tasks.push(stream);
  }
  const total = tasks.reduce((sum, t) => sum + t.length, 0);
  const progress = new Progress(total, !values['no-progress'] && !!process.stderr.isTTY && total >= 100);
  const sender = new Sender(url, signWith, timeoutMs, progress, !!values.save);
  const startedAt = Date.now();

  if (values.shuffle) {
    const all = shuffle(tasks.flat(), random);
    await preflight(sender, url, all[0]);
    await pool(all.slice(1), concurrency, async (body) => void (await sender.send(body)));
  } else {
    const first = tasks[0].shift()!;
    await preflight(sender, url, first);
    await pool(tasks, concurrency, async (events) => {
      for (const body of events) await sender.send(body);
    });
  }
  progress.end();
  writeSaved(values.save, sender);
  writeListing(values.listing, listing);
  return summarise(
    sender.tally,
    {
      url: url.href,
      seed,
      runId,
      tasks: count,
      tasksOver: outcomes.over,
      tasksFailed: outcomes.failed,
      callbacks: total - duplicates,
      duplicatesSent: duplicates,
      fileCompletesLost: lost,
      order: values.shuffle ? 'shuffled' : 'in order per task',
      algorithm: signWith.algorithm,
    },
    startedAt,
    !!values.json,
  );
}
