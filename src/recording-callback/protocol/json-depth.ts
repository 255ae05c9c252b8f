/**
 * Deepest nesting of arrays and objects accepted in a callback body. Huawei's callbacks are flat (depth 1);
 * the bound leaves room for nested fields Huawei may add, and keeps every recursive walk of the body
 * (text checks, dedupe key, class-transformer, JSON.stringify) far from the stack limit.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * True when a decoded JSON value nests arrays or objects deeper than `maxDepth` (the top-level object
 * is depth 1). Walks with an explicit stack, so a hostile value cannot overflow the call stack here.
 *
 * @example
 * exceedsJsonDepth({ a: { b: [] } }, 2); // true: the array is at depth 3
 */
export function exceedsJsonDepth(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  const stack: Array<{ node: object; depth: number }> = [];
  if (value !== null && typeof value === 'object') stack.push({ node: value, depth: 1 });
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    if (depth > maxDepth) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push({ node: child as object, depth: depth + 1 });
    }
  }
  return false;
}
