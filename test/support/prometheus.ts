/**
 * Parses Prometheus text exposition into `metric{label="v",…}` → value (labels in the order printed).
 *
 * @example
 * const m = parsePrometheus(text); expect(m['recording_callbacks_total{event_type="RECORD_START",result="accepted"}']).toBe(2);
 */
export function parsePrometheus(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return out;
}

/** Sum of every series of a metric whose labels include all of `labels`. */
export function sumOf(metrics: Record<string, number>, name: string, labels: Record<string, string> = {}): number {
  return Object.entries(metrics)
    .filter(([series]) => series === name || series.startsWith(`${name}{`))
    .filter(([series]) => Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`)))
    .reduce((sum, [, value]) => sum + value, 0);
}
