import { hash } from 'node:crypto';

/** Fields that differ between re-sends of the same callback, so they are left out of its identity. */
const VOLATILE_FIELDS = new Set(['auth_sign', 'auth_timestamp']);

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') return members(value as Record<string, unknown>, Object.keys(value));
  return JSON.stringify(value) ?? 'null';
}

/** `{"k":v,…}` of the named own fields, sorted by key. */
function members(object: Record<string, unknown>, keys: string[]): string {
  keys.sort();
  let text = '{';
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) text += ',';
    text += `${JSON.stringify(keys[i])}:${canonical(object[keys[i]])}`;
  }
  return `${text}}`;
}

/**
 * Identity of a callback: SHA-256 (hex) of its content less `auth_sign` and `auth_timestamp`, with keys
 * sorted so that field order does not matter. Two callbacks with the same key are duplicates. Stored
 * keys must match those of resends after an upgrade: the text hashed never changes.
 *
 * @example
 * dedupeKey({ ...body, auth_timestamp: 1 }) === dedupeKey({ ...body, auth_timestamp: 2 }); // true
 */
export function dedupeKey(body: Record<string, unknown>): string {
  // Own keys only: JSON.parse makes even a "__proto__" field an own field, and it counts as content.
  const keys = Object.keys(body).filter((k) => !VOLATILE_FIELDS.has(k));
  return hash('sha256', members(body, keys), 'hex');
}
