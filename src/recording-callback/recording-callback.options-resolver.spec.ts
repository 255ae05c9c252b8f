import type { CanActivate } from '@nestjs/common';
import {
  RecordingCallbackOptionsError,
  algorithmsInUse,
  keySetFor,
  resolveOptions,
} from './recording-callback.options-resolver';
import type { RecordingCallbackModuleOptions } from './recording-callback.options';

const KEY_A = 'Q7mXz2Lp9Rt4Wv8Kd3Hs6Jn1Bc5Fg0Ye';
const KEY_B = 'hT3kV9qW2eR7uY1iO5pA8sD4fG6jL0zX';
const KEY_C = 'Mn4Bv8Cx2Zl6Kj0Hg5Fd9Sa3Qw7Er1Ty';
const HMAC = { algorithm: 'HMACSHA256' as const, keys: [KEY_A] };
const MD5 = { algorithm: 'MD5' as const, keys: [KEY_B, KEY_C] };

function errorOf(options: unknown): RecordingCallbackOptionsError {
  try {
    resolveOptions(options as RecordingCallbackModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(RecordingCallbackOptionsError);
    return error as RecordingCallbackOptionsError;
  }
  throw new Error('expected resolveOptions to throw');
}

describe('resolveOptions', () => {
  it('fills the defaults', () => {
    const resolved = resolveOptions({ auth: HMAC });
    expect(resolved.toleranceSeconds).toBe(300);
    expect(resolved.queryGuards).toEqual([]);
    expect(resolved.now).toBe(Date.now);
    expect(resolved.auth).toEqual({ domains: new Map(), fallback: HMAC });
    expect(resolved.database).toEqual({ preparedStatements: false });
  });

  it('takes database.preparedStatements as a boolean and refuses anything else', () => {
    expect(resolveOptions({ auth: HMAC, database: { preparedStatements: true } }).database.preparedStatements).toBe(
      true,
    );
    expect(errorOf({ auth: HMAC, database: { preparedStatements: 'yes' } }).message).toContain(
      'database.preparedStatements',
    );
  });

  it('keeps the given tolerance, guards and clock', () => {
    const guard: CanActivate = { canActivate: () => true };
    const now = () => 42;
    const resolved = resolveOptions({ auth: HMAC, toleranceSeconds: 0, queryGuards: [guard], now });
    expect(resolved).toMatchObject({ toleranceSeconds: 0, queryGuards: [guard], now });
  });

  it("accepts 'none' only as said explicitly", () => {
    expect(resolveOptions({ auth: 'none' }).auth).toBe('none');
    expect(algorithmsInUse('none')).toEqual(new Set());
  });

  it('copies the key lists, so later changes to the input do not leak in', () => {
    const keys = [KEY_A];
    const resolved = resolveOptions({ auth: { algorithm: 'MD5', keys } });
    keys.push('changed');
    expect(resolved.auth !== 'none' && resolved.auth.fallback?.keys).toEqual([KEY_A]);
  });

  describe('per-domain key sets', () => {
    const resolved = resolveOptions({
      auth: {
        domains: { 'push.a.com': HMAC, 'push.b.com': MD5 },
        fallback: { algorithm: 'HMACSHA256', keys: [KEY_C] },
      },
    });
    if (resolved.auth === 'none') throw new Error('unexpected none');
    const auth = resolved.auth;

    it('picks the key set of the publish_domain, else the fallback', () => {
      expect(keySetFor(auth, 'push.a.com')).toEqual(HMAC);
      expect(keySetFor(auth, 'push.b.com')).toEqual(MD5);
      expect(keySetFor(auth, 'push.other.com')).toEqual({ algorithm: 'HMACSHA256', keys: [KEY_C] });
      expect(algorithmsInUse(resolved.auth)).toEqual(new Set(['HMACSHA256', 'MD5']));
    });

    it('knows no key set for an unknown domain without a fallback', () => {
      const only = resolveOptions({ auth: { domains: { 'push.a.com': HMAC } } }).auth;
      expect(only !== 'none' && keySetFor(only, 'push.other.com')).toBeUndefined();
      expect(only !== 'none' && keySetFor(only, 'PUSH.A.COM')).toBeUndefined();
    });

    it('accepts a fallback alone', () => {
      const fallbackOnly = resolveOptions({ auth: { domains: {}, fallback: MD5 } }).auth;
      expect(fallbackOnly !== 'none' && keySetFor(fallbackOnly, 'any.domain')).toEqual(MD5);
    });

    it('uses a single key set for every domain', () => {
      const single = resolveOptions({ auth: HMAC }).auth;
      expect(single !== 'none' && keySetFor(single, 'push.anything.com')).toEqual(HMAC);
    });
  });

  describe('invalid options', () => {
    const SHORT = 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k';
    const SYMBOLS = 'ab-cd_ef.gh+ij/kl=mn!op@qr#st$uv';

    it.each([
      ['a short key', 'auth.keys[1]', { auth: { algorithm: 'HMACSHA256', keys: [KEY_A, SHORT] } }],
      ['a key with symbols', 'auth.keys[0]', { auth: { algorithm: 'MD5', keys: [SYMBOLS] } }],
      ['a key with a space', 'auth.keys[0]', { auth: { algorithm: 'MD5', keys: [`${KEY_A} `] } }],
      ['a non-string key', 'auth.keys[0]', { auth: { algorithm: 'MD5', keys: [12345] } }],
      ['an empty key list', 'auth.keys', { auth: { algorithm: 'MD5', keys: [] } }],
      ['a missing key list', 'auth.keys', { auth: { algorithm: 'MD5' } }],
      ['an unknown algorithm', 'auth.algorithm', { auth: { algorithm: 'SHA1', keys: [KEY_A] } }],
      ['a lower-case algorithm', 'auth.algorithm', { auth: { algorithm: 'md5', keys: [KEY_A] } }],
      [
        'a bad key of one domain',
        'auth.domains["push.b.com"].keys[0]',
        { auth: { domains: { 'push.a.com': HMAC, 'push.b.com': { algorithm: 'MD5', keys: [SHORT] } } } },
      ],
      [
        'an unknown algorithm of one domain',
        'auth.domains["push.a.com"].algorithm',
        { auth: { domains: { 'push.a.com': { algorithm: 'X', keys: [KEY_A] } } } },
      ],
      [
        'a bad fallback key',
        'auth.fallback.keys[0]',
        { auth: { domains: { 'push.a.com': HMAC }, fallback: { algorithm: 'MD5', keys: [SYMBOLS] } } },
      ],
      ['no domain and no fallback', 'auth.domains', { auth: { domains: {} } }],
      ['a negative tolerance', 'toleranceSeconds', { auth: HMAC, toleranceSeconds: -1 }],
      ['a fractional tolerance', 'toleranceSeconds', { auth: HMAC, toleranceSeconds: 1.5 }],
      ['a non-numeric tolerance', 'toleranceSeconds', { auth: HMAC, toleranceSeconds: '300' }],
      ['queryGuards that are not an array', 'queryGuards', { auth: HMAC, queryGuards: {} }],
      ['missing auth', 'auth', {}],
      ['an unknown auth mode', 'auth', { auth: 'None' }],
      ['null auth', 'auth', { auth: null }],
      ['no options at all', 'options', undefined],
    ])('rejects %s and names %s', (_case, path, options) => {
      expect(errorOf(options).message).toMatch(new RegExp(`option ${path.replace(/[[\].]/g, '\\$&')}:`));
    });

    it.each([
      ['undefined (an unset environment variable)', [undefined], 'is undefined: the key is missing'],
      ['empty', [KEY_A, ''], 'is empty: the key is missing'],
    ])('says a key that is %s is missing, not too short', (_case, keys, said) => {
      const { message } = errorOf({ auth: { algorithm: 'HMACSHA256', keys } });
      expect(message).toContain(said);
      expect(message).not.toContain('32 characters');
    });

    it('never puts a key in the message', () => {
      const cases = [
        { auth: { algorithm: 'HMACSHA256', keys: [KEY_A, SHORT] } },
        { auth: { algorithm: 'MD5', keys: [SYMBOLS, KEY_B] } },
        { auth: { algorithm: 'SHA1', keys: [KEY_A] } },
        { auth: { domains: { 'push.a.com': { algorithm: 'MD5', keys: [KEY_C, SHORT] } } } },
        { auth: { domains: { 'push.a.com': HMAC }, fallback: { algorithm: 'MD5', keys: [SYMBOLS] } } },
        { auth: HMAC, toleranceSeconds: -5 },
      ];
      for (const options of cases) {
        const { message } = errorOf(options);
        for (const key of [KEY_A, KEY_B, KEY_C, SHORT, SYMBOLS]) expect(message).not.toContain(key);
      }
    });
  });
  it('ingest batches default to 128 callbacks, 4 ms and 4 at once, and refuse sizes beyond 1000', () => {
    expect(resolveOptions({ auth: 'none' }).ingest).toEqual({ batchSize: 128, batchWaitMs: 4, concurrency: 4 });
    expect(resolveOptions({ auth: 'none', ingest: { batchSize: 1, batchWaitMs: 0, concurrency: 9 } }).ingest).toEqual({
      batchSize: 1,
      batchWaitMs: 0,
      concurrency: 9,
    });
    const refused = (ingest: object) => () => resolveOptions({ auth: 'none', ingest });
    expect(refused({ batchSize: 1001 })).toThrow(
      'RecordingCallbackModule option ingest.batchSize: must be at most 1000',
    );
    expect(refused({ batchSize: 0 })).toThrow('option ingest.batchSize: must be a whole number >= 1');
    expect(refused({ batchWaitMs: -1 })).toThrow('option ingest.batchWaitMs: must be a whole number >= 0');
    expect(refused({ concurrency: 1.5 })).toThrow('option ingest.concurrency: must be a whole number >= 1');
  });
  it('delivery.run defaults to true and must be a boolean', () => {
    expect(resolveOptions({ auth: 'none' }).delivery.run).toBe(true);
    expect(resolveOptions({ auth: 'none', delivery: { run: false } }).delivery.run).toBe(false);
    expect(() => resolveOptions({ auth: 'none', delivery: { run: 'no' as unknown as boolean } })).toThrow(
      'RecordingCallbackModule option delivery.run: must be true or false',
    );
  });
  it('refuses a handler timeout that is not below the lease, and defaults it to half the lease', () => {
    const at = (handlerTimeoutMs: number) => () =>
      resolveOptions({ auth: 'none', delivery: { leaseMs: 1000, handlerTimeoutMs } });
    expect(at(1000)).toThrow(
      'RecordingCallbackModule option delivery.handlerTimeoutMs: must be below delivery.leaseMs',
    );
    expect(at(1500)).toThrow('must be below delivery.leaseMs');
    expect(at(999)().delivery.handlerTimeoutMs).toBe(999);
    expect(resolveOptions({ auth: 'none', delivery: { leaseMs: 1000 } }).delivery.handlerTimeoutMs).toBe(500);
    expect(resolveOptions({ auth: 'none' }).delivery.handlerTimeoutMs).toBe(60_000);
  });

  describe('reconcile', () => {
    const base = { credentials: { ak: 'AK', sk: 'SK' }, projectId: 'p1' };

    it('is off unless given, and fills its defaults from the region', () => {
      expect(resolveOptions({ auth: HMAC }).reconcile).toBeNull();
      expect(resolveOptions({ auth: HMAC, reconcile: { ...base, region: 'cn-north-4' } }).reconcile).toEqual({
        ak: 'AK',
        sk: 'SK',
        projectId: 'p1',
        endpoint: 'https://live.cn-north-4.myhuaweicloud.com',
        windowSeconds: 21_600,
        intervalSeconds: 600,
        domains: [],
        callbackUrl: null,
        checkAtStartup: false,
        requestTimeoutMs: 10_000,
        matchToleranceSeconds: 5,
      });
    });

    it('lets an endpoint win over the region, and takes loopback URLs', () => {
      const r = resolveOptions({
        auth: HMAC,
        reconcile: { ...base, region: 'cn-north-4', endpoint: 'http://127.0.0.1:9000/' },
      });
      expect(r.reconcile?.endpoint).toBe('http://127.0.0.1:9000');
    });

    it('names what is missing or wrong', () => {
      expect(errorOf({ auth: HMAC, reconcile: { ...base, credentials: { ak: 'AK' }, region: 'r' } }).message).toContain(
        'reconcile.credentials.sk: is missing',
      );
      expect(errorOf({ auth: HMAC, reconcile: { ...base, projectId: '' } }).message).toContain('reconcile.projectId');
      expect(errorOf({ auth: HMAC, reconcile: base }).message).toContain('reconcile.region');
      expect(errorOf({ auth: HMAC, reconcile: { ...base, endpoint: 'live.example.com' } }).message).toContain(
        'reconcile.endpoint',
      );
      const window = errorOf({ auth: HMAC, reconcile: { ...base, region: 'r', windowSeconds: 31 * 86_400 } });
      expect(window.message).toContain('reconcile.windowSeconds: must be at most 2592000');
      expect(errorOf({ auth: HMAC, reconcile: { ...base, region: 'r', intervalSeconds: -1 } }).message).toContain(
        'reconcile.intervalSeconds',
      );
      expect(errorOf({ auth: HMAC, reconcile: { ...base, region: 'r', domains: [''] } }).message).toContain(
        'reconcile.domains',
      );
    });

    it('never puts the secret key in a message', () => {
      const secret = 'SuperSecretKeyValue0123456789';
      expect(
        errorOf({ auth: HMAC, reconcile: { ...base, credentials: { ak: 'AK', sk: secret } } }).message,
      ).not.toContain(secret);
    });
  });
});
