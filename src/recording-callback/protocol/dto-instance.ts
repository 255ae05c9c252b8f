/**
 * Makes a DTO instance of `target` holding a decoded JSON body's fields. The DTOs declare no
 * class-transformer rules, so this is all `plainToInstance` did for them, without walking nested values:
 * class-transformer 0.5 reads `value.constructor` of every nested object and threw a TypeError for a
 * body with a `constructor` key at any depth (an unsigned extra field), a 503 on every resend.
 * Keys that would shadow the prototype (`__proto__`, `constructor`, `toString`, …) are left out, as
 * class-transformer left them out; nested values are kept as they are.
 *
 * @example
 * const dto = toDtoInstance(RecordStartDto, JSON.parse(text));
 */
export function toDtoInstance<T extends object>(target: new () => T, body: Record<string, unknown>): T {
  const dto = new target() as Record<string, unknown>;
  const prototype = Object.getPrototypeOf(dto) as object;
  for (const key of Object.keys(body)) {
    if (key === '__proto__' || (key in prototype && !Object.prototype.hasOwnProperty.call(dto, key))) continue;
    // defineProperty, not assignment: no setter of the prototype chain runs for a key of the sender's.
    Object.defineProperty(dto, key, { value: body[key], enumerable: true, writable: true, configurable: true });
  }
  return dto as T;
}
