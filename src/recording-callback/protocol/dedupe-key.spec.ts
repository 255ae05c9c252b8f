import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { dedupeKey } from './dedupe-key';

const BODY = {
  event_type: 'RECORD_FILE_COMPLETE',
  task_id: 't-1',
  job_id: 'job-1',
  publish_domain: 'push.example.com',
  app: 'live',
  stream: 'mystream',
  record_format: 'HLS',
  download_url: 'https://obs.example.com/a.m3u8',
  file_size: 3957964,
  extra: { b: [1, { y: 2, x: 1 }], a: null },
  auth_sign: 'ab'.repeat(32),
  auth_timestamp: 1583676745,
};

const VOLATILE = new Set(['auth_sign', 'auth_timestamp']);

/** A decoded JSON object, as the controller sees it ("__proto__" has its own example test below). */
const jsonObject = fc
  .dictionary(
    fc.string().filter((k) => k !== '__proto__'),
    fc.jsonValue(),
  )
  .map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);

function reorder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorder);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reorder(v)]),
    );
  }
  return value;
}

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

describe('dedupeKey', () => {
  it('is a SHA-256 hex digest', () => {
    expect(dedupeKey(BODY)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the keys that earlier versions stored, so a resend after an upgrade is still a duplicate', () => {
    // Computed with the first implementation (Object.fromEntries, createHash): the hashed text must not change.
    const body = {
      event_type: 'RECORD_FILE_COMPLETE',
      publish_domain: 'push.example.com',
      app: 'live',
      stream: 's-1',
      task_id: 't-1',
      job_id: 'j-1',
      record_format: 'HLS',
      file_size: 3957964,
      width: null,
      nested: { b: [1, 'x', { z: true, a: 1.5 }], a: 'é\u2028' },
      auth_timestamp: 1700000000,
      auth_sign: 'ab',
    };
    expect(dedupeKey(body)).toBe('2b1344a1b4c5b3ce2ca6e6ab000b58b1905d68a777437f7f0f73ed93c876b1d4');
    expect(dedupeKey(JSON.parse('{"__proto__":{"x":1},"a":1}') as Record<string, unknown>)).toBe(
      '16f0a6f5823c7470398e5edfba59dfbde97abf692bcffed62a946ee9587d1271',
    );
  });

  it('hashes the same text as the first implementation, for any JSON body', () => {
    const reference = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
      if (value !== null && typeof value === 'object') {
        const keys = Object.keys(value).sort();
        return `{${keys.map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`).join(',')}}`;
      }
      return JSON.stringify(value) ?? 'null';
    };
    fc.assert(
      fc.property(jsonObject, fc.boolean(), (body, signed) => {
        const sent = signed ? { ...body, auth_sign: 'ff', auth_timestamp: 1 } : body;
        const content = Object.fromEntries(Object.entries(sent).filter(([k]) => !VOLATILE.has(k)));
        const expected = createHash('sha256').update(reference(content), 'utf8').digest('hex');
        expect(dedupeKey(sent)).toBe(expected);
      }),
    );
  });

  it('ignores key order, at every depth', () => {
    expect(dedupeKey(reorder(BODY) as Record<string, unknown>)).toBe(dedupeKey(BODY));
    fc.assert(
      fc.property(jsonObject, (body) => {
        expect(dedupeKey(reorder(body) as Record<string, unknown>)).toBe(dedupeKey(body));
      }),
    );
  });

  it('ignores auth_sign and auth_timestamp, present or not', () => {
    const { auth_sign: _sign, auth_timestamp: _timestamp, ...unsigned } = BODY;
    expect(dedupeKey({ ...BODY, auth_sign: 'cd'.repeat(32), auth_timestamp: 1583676999 })).toBe(dedupeKey(BODY));
    expect(dedupeKey(unsigned)).toBe(dedupeKey(BODY));
  });

  it.each([
    ['a changed field', { ...BODY, file_size: 3957965 }],
    ['a number turned into a string', { ...BODY, file_size: '3957964' }],
    ['a changed nested value', { ...BODY, extra: { ...BODY.extra, a: 0 } }],
    ['reordered array items', { ...BODY, extra: { ...BODY.extra, b: [{ y: 2, x: 1 }, 1] } }],
    ['an added field', { ...BODY, play_url: 'https://play.example.com/a.m3u8' }],
    ['a removed field', { ...BODY, file_size: undefined }],
    ['a field name with different case', { ...BODY, Task_id: 't-1' }],
  ])('changes with %s', (_change, changed) => {
    const body = Object.fromEntries(Object.entries(changed).filter(([, v]) => v !== undefined));
    expect(dedupeKey(body)).not.toBe(dedupeKey(BODY));
  });

  it('tells apart bodies that differ only in a "__proto__" field (JSON.parse makes it an own field)', () => {
    const a = JSON.parse('{"task_id":"t-1","__proto__":{"x":1}}');
    const b = JSON.parse('{"task_id":"t-1","__proto__":{"x":2}}');
    expect(dedupeKey(a)).not.toBe(dedupeKey(b));
  });

  it('changes whenever a field other than auth_sign and auth_timestamp changes', () => {
    const change = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), field: fc.string(), value: fc.jsonValue() }),
      fc.record({ kind: fc.constant('wrap' as const), index: fc.nat() }),
      fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
    );
    fc.assert(
      fc.property(jsonObject, change, (body, c) => {
        const fields = Object.keys(body).filter((k) => !VOLATILE.has(k));
        const changed = { ...body };
        if (c.kind === 'set') {
          const value = JSON.parse(JSON.stringify(c.value));
          fc.pre(!VOLATILE.has(c.field) && c.field !== '__proto__');
          fc.pre(!Object.hasOwn(body, c.field) || sortedJson(body[c.field]) !== sortedJson(value));
          changed[c.field] = value;
        } else {
          fc.pre(fields.length > 0);
          const field = fields[c.index % fields.length];
          if (c.kind === 'wrap') changed[field] = [body[field]];
          else delete changed[field];
        }
        expect(dedupeKey(changed)).not.toBe(dedupeKey(body));
      }),
    );
  });
});
