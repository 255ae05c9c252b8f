/**
 * One parameterised SQL statement, written with `?` placeholders in the dialect-neutral SQL both
 * databases understand. Builders in `*.sql.ts` return these; the database gateway runs them and turns
 * the placeholders into the dialect's own.
 *
 * @example
 * const s: Statement = { sql: 'SELECT id FROM t WHERE a = ?', params: [a] };
 */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * Builds a {@link Statement}.
 *
 * @example
 * statement('UPDATE t SET a = ? WHERE id = ?', [a, id]);
 */
export function statement(sql: string, params: readonly unknown[] = []): Statement {
  return { sql, params };
}

/** `?, ?, ?` for a list of `n` values (an `IN (…)` list). */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** `(?, …), (?, …)`: `count` rows of `width` placeholders, for a multi-row `VALUES` list. */
export function valueRows(count: number, width: number): string {
  const row = `(${placeholders(width)})`;
  return Array.from({ length: count }, () => row).join(', ');
}

/** The cheapest statement that proves the database answers. */
export const PING: Statement = statement('SELECT 1');
