import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signing algorithms a Huawei Live callback template can use.
 * `HMACSHA256` signs the routing fields; `MD5` signs only the key and the timestamp.
 *
 * @example
 * const algorithm: SignatureAlgorithm = 'HMACSHA256';
 */
export type SignatureAlgorithm = 'HMACSHA256' | 'MD5';

/**
 * Both algorithm names, for option validation.
 *
 * @example
 * SIGNATURE_ALGORITHMS.includes('MD5'); // true
 */
export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ['HMACSHA256', 'MD5'];

/**
 * The callback fields that take part in a signature. Absent fields count as empty strings.
 *
 * @example
 * const fields: SignedFields = { auth_timestamp: 1583676000, event_type: 'RECORD_START' };
 */
export interface SignedFields {
  auth_timestamp: number | string;
  event_type?: string;
  publish_domain?: string;
  app?: string;
  stream?: string;
  download_url?: string;
  play_url?: string;
}

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/**
 * The exact string Huawei signs for a callback under the given algorithm.
 * MD5: `key + auth_timestamp`; HMACSHA256: `auth_timestamp + event_type + publish_domain + app + stream +
 * download_url + play_url` (the key is the HMAC key, not part of the string).
 *
 * @example
 * stringToSign('HMACSHA256', body, key); // '1583676000RECORD_STARTpush.example.comlivemystream'
 */
export function stringToSign(algorithm: SignatureAlgorithm, fields: SignedFields, key: string): string {
  if (algorithm === 'MD5') return key + text(fields.auth_timestamp);
  return (
    text(fields.auth_timestamp) +
    text(fields.event_type) +
    text(fields.publish_domain) +
    text(fields.app) +
    text(fields.stream) +
    text(fields.download_url) +
    text(fields.play_url)
  );
}

/**
 * Computes `auth_sign` (lowercase hex) for a callback body, as Huawei Live does.
 *
 * @example
 * const auth_sign = computeSignature('HMACSHA256', { ...body, auth_timestamp }, key);
 */
export function computeSignature(algorithm: SignatureAlgorithm, fields: SignedFields, key: string): string {
  const input = stringToSign(algorithm, fields, key);
  if (algorithm === 'MD5') return createHash('md5').update(input, 'utf8').digest('hex');
  return createHmac('sha256', key).update(input, 'utf8').digest('hex');
}

const HEX = /^[0-9a-fA-F]+$/;

/**
 * Constant-time check of a received `auth_sign` against every key (key rotation).
 * Hex case is ignored; a value of the wrong length or alphabet never matches.
 *
 * @example
 * if (!verifySignature('HMACSHA256', body, body.auth_sign, [currentKey, previousKey])) reject();
 */
export function verifySignature(
  algorithm: SignatureAlgorithm,
  fields: SignedFields,
  received: string,
  keys: readonly string[],
): boolean {
  const expectedLength = algorithm === 'MD5' ? 32 : 64;
  if (received.length !== expectedLength || !HEX.test(received)) return false;
  const given = Buffer.from(received.toLowerCase(), 'hex');
  let matched = false;
  // Try every key even after a match, so the time taken does not reveal which key matched.
  for (const key of keys) {
    const expected = Buffer.from(computeSignature(algorithm, fields, key), 'hex');
    if (timingSafeEqual(expected, given)) matched = true;
  }
  return matched;
}
