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

/** Most list lengths whose placeholder texts are kept (a batch has at most 1000 items). */
const CACHED_UP_TO = 1000;
/** Texts built before, by length (and by width for rows): every batch of one size asks for the same. */
const lists: string[] = [];
const rowLists = new Map<number, string[]>();

/** `?, ?, ?` for a list of `n` values (an `IN (…)` list). */
export function placeholders(n: number): string {
  const cached = lists[n];
  if (cached !== undefined) return cached;
  const text = Array.from({ length: n }, () => '?').join(', ');
  if (n <= CACHED_UP_TO) lists[n] = text;
  return text;
}

/** `(?, …), (?, …)`: `count` rows of `width` placeholders, for a multi-row `VALUES` list. */
export function valueRows(count: number, width: number): string {
  let byCount = rowLists.get(width);
  if (!byCount) rowLists.set(width, (byCount = []));
  const cached = byCount[count];
  if (cached !== undefined) return cached;
  const row = `(${placeholders(width)})`;
  const text = Array.from({ length: count }, () => row).join(', ');
  if (count <= CACHED_UP_TO && width <= CACHED_UP_TO) byCount[count] = text;
  return text;
}

/** The cheapest statement that proves the database answers. */
export const PING: Statement = statement('SELECT 1');
