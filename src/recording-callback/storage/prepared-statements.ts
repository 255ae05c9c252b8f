import { createHash } from 'node:crypto';

/** Longest statement text worth naming: the module's long texts are multi-row ones that vary with the row count. */
export const MAX_NAMED_TEXT = 4096;
/** Most statements named on one connection; later texts go unnamed, so neither side's memory grows without end. */
export const MAX_NAMED_PER_CONNECTION = 200;

/**
 * Chooses, per pooled connection, which statement texts go as named prepared statements. A connection
 * (and its PostgreSQL backend) keeps every statement prepared on it until it closes, and busy pooled
 * connections never close; the module's multi-row texts change with the row count. So only short texts
 * are named, and at most {@link MAX_NAMED_PER_CONNECTION} per connection: the fixed texts that repeat
 * (claims, one-row outcomes, small batches) get named first, and the rest run unnamed as without the option.
 *
 * @example
 * const name = namer.nameFor(client, text); // undefined: send it unnamed
 */
export class StatementNamer {
  private readonly named = new WeakMap<object, Set<string>>();

  /** The name to send `text` under on `connection`, or undefined to send it unnamed. */
  nameFor(connection: object, text: string): string | undefined {
    if (text.length > MAX_NAMED_TEXT) return undefined;
    let names = this.named.get(connection);
    if (!names) this.named.set(connection, (names = new Set()));
    // The same name for the same text on every connection: pg prepares it once on each.
    const name = `rc_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (names.has(name)) return name;
    if (names.size >= MAX_NAMED_PER_CONNECTION) return undefined;
    names.add(name);
    return name;
  }
}
