/** Text PostgreSQL can store: no NUL character and no unpaired UTF-16 surrogate. */
export const STORABLE_TEXT = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;

/**
 * True when a string can be stored as text or JSON by every supported database.
 *
 * @example
 * isStorableText('cam\u00001'); // false
 */
export function isStorableText(value: string): boolean {
  return STORABLE_TEXT.test(value);
}

/**
 * Paths of the strings (values or keys) inside a decoded JSON value that cannot be stored.
 *
 * @example
 * unstorableTextPaths({ a: 'x\u0000' }); // ['a']
 */
export function unstorableTextPaths(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return isStorableText(value) ? [] : [path || '(body)'];
  if (Array.isArray(value)) return value.flatMap((v, i) => unstorableTextPaths(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const here = path ? `${path}.${k}` : k;
      return isStorableText(k) ? unstorableTextPaths(v, here) : [here];
    });
  }
  return [];
}
