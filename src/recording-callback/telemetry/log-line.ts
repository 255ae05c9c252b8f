/**
 * Characters JSON.stringify leaves raw that terminals or log viewers still act on: DEL and the C1
 * controls (U+009B is a one-character ANSI escape introducer), and the Unicode line/paragraph separators.
 */
const RAW_AFTER_JSON = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * Renders fields as one JSON line that no request text can break or colour: JSON escapes quotes,
 * newlines and C0 controls (ESC included), and the rest are escaped here too.
 *
 * @example
 * logger.warn(logLine({ msg: 'refused', taskId: body.task_id })); // {"msg":"refused","taskId":"a\nb"}
 */
export function logLine(fields: Record<string, unknown>): string {
  return (JSON.stringify(fields) ?? '{}').replace(
    RAW_AFTER_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * A piece of untrusted text for a log message: escaped as in {@link logLine} (without the quotes) and cut.
 *
 * @example
 * logger.warn(`delivery of task ${logText(taskId)} interrupted`);
 */
export function logText(value: unknown, max = 300): string {
  const text = typeof value === 'string' ? value : String(value);
  return logLine({ t: cutText(text, max) }).slice(6, -2);
}

/**
 * Text cut to at most `max` characters, with an ellipsis when it was longer: for request text echoed in
 * answers and log lines.
 *
 * @example
 * cutText('abcdef', 3); // 'abc…'
 */
export function cutText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
