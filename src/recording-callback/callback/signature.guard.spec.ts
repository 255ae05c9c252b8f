import { HttpException } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import { computeSignature } from '../protocol/signature';
import type { SignatureAlgorithm } from '../protocol/signature';
import { resolveOptions } from '../recording-callback.options';
import type { RecordingCallbackModuleOptions } from '../recording-callback.options';
import { SignatureGuard } from './signature.guard';
import { RecordingSignatureException } from './signature.exception';
import { HOSTILE_JSON_VALUES } from '../../../test/fixtures/hostile-json-values';

const KEY = 'Kx7Qm2Lp9Vt4Rz8Wb3Nc6Hd1Fg5Js0Ya';
const NOW = 1_800_000_000;

const FIELDS = [
  'auth_sign',
  'auth_timestamp',
  'event_type',
  'publish_domain',
  'app',
  'stream',
  'download_url',
  'play_url',
  'task_id',
  'job_id',
  'record_format',
  'file_size',
] as const;
const SIGNED_TEXT = new Set(['event_type', 'publish_domain', 'app', 'stream', 'download_url', 'play_url']);

function guard(options: Partial<RecordingCallbackModuleOptions> = {}, algorithm: SignatureAlgorithm = 'HMACSHA256') {
  return new SignatureGuard(resolveOptions({ auth: { algorithm, keys: [KEY] }, now: () => NOW * 1000, ...options }));
}

function contextOf(body: unknown): ExecutionContext {
  const request = { body };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function body(algorithm: SignatureAlgorithm, over: Record<string, unknown> = {}, timestamp = NOW) {
  const fields = {
    event_type: 'RECORD_START',
    publish_domain: 'push.example.com',
    app: 'live',
    stream: 's1',
    task_id: 't1',
    auth_timestamp: timestamp,
  };
  return { ...fields, auth_sign: computeSignature(algorithm, fields, KEY), ...over };
}

/** What the guard did: 'pass', or the status and reason (exact detail) of its refusal. */
function outcome(g: SignatureGuard, b: unknown): string {
  try {
    return g.canActivate(contextOf(b)) ? 'pass' : 'false';
  } catch (error) {
    if (error instanceof RecordingSignatureException) return `401 ${error.detail}`;
    if (error instanceof HttpException) {
      const fields = (error.getResponse() as { fields?: Record<string, unknown> }).fields ?? {};
      return `${error.getStatus()} ${Object.keys(fields).join(',')}`;
    }
    throw error;
  }
}

describe.each(['HMACSHA256', 'MD5'] as const)('SignatureGuard (%s)', (algorithm) => {
  const g = guard({}, algorithm);

  it('passes a correctly signed callback', () => {
    expect(outcome(g, body(algorithm))).toBe('pass');
  });

  it.each(['a JSON array', 'null', 'a string', 'a number'])('refuses %s as body with 400', (label) => {
    const value = { 'a JSON array': [body(algorithm)], null: null, 'a string': 'x', 'a number': 1 }[label];
    expect(outcome(g, value)).toBe('400 body');
  });

  describe.each(FIELDS)('%s of every JSON type', (field) => {
    it.each(HOSTILE_JSON_VALUES)('%s: answers 400 or 401, never throws anything else', (_label, value) => {
      const result = outcome(g, body(algorithm, { [field]: value }));
      expect(result).toMatch(/^(pass|400 \w+|401 \w+)$/);
      if (SIGNED_TEXT.has(field) && typeof value !== 'string' && value !== null) {
        expect(result).toBe(`400 ${field}`);
      }
      if (field === 'auth_sign' && (value === null || value === '')) expect(result).toBe('401 missing_signature');
      if (field === 'auth_sign' && typeof value !== 'string' && value !== null)
        expect(result).toBe('401 bad_signature');
      if (field === 'auth_timestamp' && (typeof value === 'object' || typeof value === 'boolean') && value !== null) {
        expect(result).toBe('401 bad_signature');
      }
    });
  });

  it('refuses an auth_timestamp that is not a whole number of seconds', () => {
    for (const ts of [1.5, -1, '1e9', ' 1', '0x10', '1800000000.0', 1e21]) {
      expect(outcome(g, body(algorithm, { auth_timestamp: ts }))).toBe('401 bad_signature');
    }
  });

  it('checks the time window before the signature: an expired forgery is `expired`, not `bad_signature`', () => {
    const old = NOW - 301;
    expect(outcome(g, body(algorithm, { auth_sign: 'f'.repeat(64) }, old))).toBe('401 expired');
    expect(outcome(g, body(algorithm, {}, NOW - 300))).toBe('pass');
  });

  it('refuses a timestamp further ahead than maxFutureSeconds with its own detail, answered `expired`', () => {
    const ahead = guard({ maxFutureSeconds: 600 }, algorithm);
    expect(outcome(ahead, body(algorithm, {}, NOW + 600))).toBe('pass');
    expect(outcome(ahead, body(algorithm, {}, NOW + 601))).toBe('401 timestamp_ahead');
    try {
      ahead.canActivate(contextOf(body(algorithm, {}, NOW + 601)));
    } catch (error) {
      expect((error as RecordingSignatureException).getResponse()).toMatchObject({ reason: 'expired' });
    }
    // The default bound is a day.
    expect(outcome(g, body(algorithm, {}, NOW + 86_400))).toBe('pass');
    expect(outcome(g, body(algorithm, {}, NOW + 86_401))).toBe('401 timestamp_ahead');
  });

  it('answers an unknown domain as bad_signature, keeping unknown_domain as the detail', () => {
    const perDomain = new SignatureGuard(
      resolveOptions({ auth: { domains: { 'push.a.example': { algorithm, keys: [KEY] } } }, now: () => NOW * 1000 }),
    );
    const other = body(algorithm, { publish_domain: 'push.b.example' });
    let thrown: unknown;
    try {
      perDomain.canActivate(contextOf(other));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RecordingSignatureException);
    expect((thrown as RecordingSignatureException).detail).toBe('unknown_domain');
    expect((thrown as RecordingSignatureException).getResponse()).toMatchObject({ reason: 'bad_signature' });
  });

  it('keeps the leading zeros of a text timestamp in the signed string', () => {
    const fields = { event_type: 'RECORD_START', publish_domain: 'push.example.com', app: 'live', stream: 's1' };
    const signed = { ...fields, auth_timestamp: `0${NOW}` };
    const auth_sign = computeSignature(algorithm, signed, KEY);
    expect(outcome(g, { ...signed, task_id: 't', auth_sign })).toBe('pass');
  });
});

describe("SignatureGuard with auth: 'none'", () => {
  it('still type-checks the signed fields', () => {
    const g = new SignatureGuard(resolveOptions({ auth: 'none' }));
    expect(outcome(g, { event_type: { toString: 1 } })).toBe('400 event_type');
    expect(outcome(g, { event_type: 'RECORD_START' })).toBe('pass');
  });
});
