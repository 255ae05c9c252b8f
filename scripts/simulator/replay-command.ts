import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from './usage';
import { integer, targetUrl, signing } from './options';
import type { Body } from './options';
import { Sender, preflight, pool } from './sender';
import { Progress, summarise } from './report';

/** Reads a --save file: one JSON object per line. */
export function readJsonLines(file: string): Body[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const bodies: Body[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new UsageError(`${file}:${i + 1}: not valid JSON (expected one callback object per line)`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError(`${file}:${i + 1}: expected a JSON object, one callback per line`);
    }
    bodies.push(value as Body);
  });
  if (!bodies.length) throw new UsageError(`${file} holds no callbacks (one JSON object per line)`);
  return bodies;
}

/** `simulate replay`: sends saved callbacks, re-signed unless --as-is. */
export async function replay(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      algorithm: { type: 'string' },
      expires: { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      'as-is': { type: 'boolean' },
      json: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('replay takes one FILE of saved callbacks (JSON lines)');
  const url = targetUrl(values.url);
  const file = positionals[0];
  const how = values['as-is'] ? undefined : signing(values);
  const concurrency = integer('concurrency', values.concurrency, 1, 1, 1000);
  const timeoutMs = integer('timeout', values.timeout, 10_000, 1);
  const bodies = readJsonLines(file);
  const progress = new Progress(
    bodies.length,
    !values['no-progress'] && !!process.stderr.isTTY && bodies.length >= 100,
  );
  const sender = new Sender(url, how, timeoutMs, progress, false);
  const startedAt = Date.now();
  await preflight(sender, url, bodies[0]);
  await pool(bodies.slice(1), concurrency, async (body) => void (await sender.send(body)));
  progress.end();
  return summarise(
    sender.tally,
    { url: url.href, file, signatures: how ? `re-signed (${how.algorithm})` : 'as saved' },
    startedAt,
    !!values.json,
  );
}
