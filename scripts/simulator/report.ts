import { writeFileSync } from 'node:fs';
import { UsageError } from './usage';
import type { Sender, Tally } from './sender';

/** What a run prints: the progress bar, the summary, and the --save file. */

/** Progress bar: plain text on stderr, only on a terminal. */
export class Progress {
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  tick(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.total && now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    const perSecond = Math.round(done / Math.max((now - this.started) / 1000, 0.001));
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${Math.floor((done / this.total) * 100)}% ${perSecond}/s `,
    );
  }

  end(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }
}

// Summary

/** Prints the summary (text or JSON) and returns the exit code: 0 when every answer was 200. */
export function summarise(tally: Tally, extra: Record<string, unknown>, startedAt: number, json: boolean): number {
  const durationMs = Date.now() - startedAt;
  const ok = tally.sent > 0 && tally.byStatus['200'] === tally.sent;
  if (json) {
    process.stdout.write(JSON.stringify({ ...extra, ...tally, durationMs, ok }, null, 2) + '\n');
    return ok ? 0 : 1;
  }
  const rate = Math.round(tally.sent / Math.max(durationMs / 1000, 0.001));
  const lines = [`Sent ${tally.sent} callbacks in ${(durationMs / 1000).toFixed(2)} s (${rate}/s)`];
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined && typeof value !== 'object') lines.push(`  ${key}: ${value}`);
  }
  lines.push('Answers by status code:');
  for (const [status, n] of Object.entries(tally.byStatus).sort()) {
    const detail =
      status === '200'
        ? ` (${Object.entries(tally.byResult)
            .map(([r, c]) => `${r} ${c}`)
            .join(', ')})`
        : '';
    lines.push(`  ${status.padEnd(13)} ${String(n).padStart(7)}${detail}`);
  }
  if (tally.samples.length) lines.push('Examples of other answers:', ...tally.samples.map((s) => `  ${s}`));
  process.stdout.write(lines.join('\n') + '\n');
  return ok ? 0 : 1;
}

/** Writes every callback sent, as sent, to the --save file (JSON lines). */
export function writeSaved(file: string | undefined, sender: Sender): void {
  if (!file) return;
  try {
    writeFileSync(file, sender.savedLines().join('\n') + '\n');
  } catch (error) {
    throw new UsageError(`cannot write --save file ${file}: ${(error as Error).message}`);
  }
}
