import { createHash } from 'node:crypto';

/** Fields that differ between re-sends of the same callback, so they are left out of its identity. */
const VOLATILE_FIELDS = new Set(['auth_sign', 'auth_timestamp']);

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Identity of a callback: SHA-256 (hex) of its content less `auth_sign` and `auth_timestamp`, with keys
 * sorted so that field order does not matter. Two callbacks with the same key are duplicates.
 *
 * @example
 * dedupeKey({ ...body, auth_timestamp: 1 }) === dedupeKey({ ...body, auth_timestamp: 2 }); // true
 */
export function dedupeKey(body: Record<string, unknown>): string {
  // fromEntries defines own properties, so even a "__proto__" field counts as content.
  const content = Object.fromEntries(Object.entries(body).filter(([k]) => !VOLATILE_FIELDS.has(k)));
  return createHash('sha256').update(canonical(content), 'utf8').digest('hex');
}
