import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeSignature, stringToSign, verifySignature } from './signature';
import type { SignatureAlgorithm, SignedFields } from './signature';

interface Vector {
  name: string;
  algorithm: SignatureAlgorithm;
  key: string;
  body: SignedFields;
  string_to_sign: string;
  auth_sign: string;
}

const vectors: Vector[] = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/huawei-live-recording-signatures.json'), 'utf8'),
).vectors;

describe('signature', () => {
  it('has vectors for both algorithms', () => {
    expect(new Set(vectors.map((v) => v.algorithm))).toEqual(new Set(['MD5', 'HMACSHA256']));
  });

  describe.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    it('builds the documented string to sign', () => {
      expect(stringToSign(v.algorithm, v.body, v.key)).toBe(v.string_to_sign);
    });
    it('computes the documented auth_sign', () => {
      expect(computeSignature(v.algorithm, v.body, v.key)).toBe(v.auth_sign);
    });
    it('verifies the signature in lower and upper case', () => {
      expect(verifySignature(v.algorithm, v.body, v.auth_sign, [v.key])).toBe(true);
      expect(verifySignature(v.algorithm, v.body, v.auth_sign.toUpperCase(), [v.key])).toBe(true);
    });
    it('accepts the signature when the right key is one of several (rotation)', () => {
      const other = 'A'.repeat(32);
      expect(verifySignature(v.algorithm, v.body, v.auth_sign, [other, v.key])).toBe(true);
    });
    it('rejects a wrong key, a changed timestamp, truncation and non-hex input', () => {
      expect(verifySignature(v.algorithm, v.body, v.auth_sign, ['B'.repeat(32)])).toBe(false);
      const later = { ...v.body, auth_timestamp: Number(v.body.auth_timestamp) + 1 };
      expect(verifySignature(v.algorithm, later, v.auth_sign, [v.key])).toBe(false);
      expect(verifySignature(v.algorithm, v.body, v.auth_sign.slice(0, -2), [v.key])).toBe(false);
      expect(verifySignature(v.algorithm, v.body, 'z'.repeat(v.auth_sign.length), [v.key])).toBe(false);
      expect(verifySignature(v.algorithm, v.body, v.auth_sign, [])).toBe(false);
    });
  });

  it('HMACSHA256 covers the routing fields, MD5 does not', () => {
    const v = vectors.find((x) => x.algorithm === 'HMACSHA256')!;
    expect(verifySignature('HMACSHA256', { ...v.body, stream: 'other' }, v.auth_sign, [v.key])).toBe(false);
    const m = vectors.find((x) => x.algorithm === 'MD5')!;
    expect(verifySignature('MD5', { ...m.body, stream: 'other' }, m.auth_sign, [m.key])).toBe(true);
  });

  it('includes play_url when present', () => {
    const fields = { auth_timestamp: 1, event_type: 'E', publish_domain: 'd', app: 'a', stream: 's', play_url: 'p' };
    expect(stringToSign('HMACSHA256', fields, 'k')).toBe('1Edasp');
  });
});
