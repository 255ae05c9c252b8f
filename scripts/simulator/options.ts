import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RecordFormat, RecordingEventType } from '../../src/recording-callback/testing';
import type { SignatureAlgorithm } from '../../src/recording-callback/testing';
import { UsageError } from './usage';

/** Option parsing shared by the subcommands: numbers, rates, the URL, the key and signing. */

/** Callback keys: 32 or more letters and digits. */
export const KEY_PATTERN = /^[A-Za-z0-9]{32,}$/;
/** Record formats Huawei sends. */
export const FORMATS = Object.values(RecordFormat) as string[];
/** Callback event types. */
export const EVENT_TYPES = Object.values(RecordingEventType) as string[];

/** A callback body. */
export type Body = Record<string, unknown>;

/** How callbacks are signed. */
export interface Signing {
  key: string;
  algorithm: SignatureAlgorithm;
  expires: number;
}

/** A whole-number option within [min, max], or the fallback when absent. */
export function integer(name: string, text: string | undefined, fallback: number, min: number, max = Infinity): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be a whole number${max < Infinity ? ` from ${min} to ${max}` : ` >= ${min}`}, got "${text}"`,
    );
  }
  return value;
}

/** A share between 0 and 1, or the fallback when absent. */
export function rate(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(`--${name} must be a number from 0 to 1, got "${text}"`);
  }
  return value;
}

/** The --url option: an http(s) URL. */
export function targetUrl(text: string | undefined): URL {
  if (!text) throw new UsageError('--url is required, e.g. --url http://127.0.0.1:3000/recording-callbacks');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url "${text}" is not a URL; write it like http://127.0.0.1:3000/recording-callbacks`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be http:// or https://, got "${url.protocol}"`);
  }
  return url;
}

/** The key from --key, the environment, or the host app's development key file. Never printed. */
export function resolveKey(given: string | undefined): { key: string; source: string } {
  const fromEnv =
    process.env.RECORDING_CALLBACK_KEY || (process.env.RECORDING_CALLBACK_KEYS ?? '').split(',')[0]?.trim();
  let key = given;
  let source = '--key';
  if (key === undefined && fromEnv) [key, source] = [fromEnv, 'the environment'];
  if (key === undefined) {
    const sqlite = process.env.SQLITE_PATH || 'data/recordings.sqlite';
    const folder = dirname(sqlite) === '.' ? 'data' : dirname(sqlite);
    const file = join(folder, 'dev-callback-key');
    if (existsSync(file)) [key, source] = [readFileSync(file, 'utf8').trim(), file];
  }
  if (key === undefined || key === '') {
    throw new UsageError(
      'no callback key: pass --key KEY (the key your app configures in RecordingCallbackModule auth.keys) or set RECORDING_CALLBACK_KEY. ' +
        "(In this project's own host app, `npm start` once writes a development key to data/dev-callback-key, which is read when present.)",
    );
  }
  if (!KEY_PATTERN.test(key)) {
    // Say what is wrong without echoing the secret.
    throw new UsageError(
      `the key from ${source} is not valid: a callback key has at least 32 characters, letters and digits only (this one has ${key.length} characters${/[^A-Za-z0-9]/.test(key) ? ', some not letters or digits' : ''})`,
    );
  }
  return { key, source };
}

/** Key, algorithm and expiry for signing, from the options and the environment. */
export function signing(values: { key?: string; algorithm?: string; expires?: string }): Signing {
  const algorithm = (values.algorithm ?? process.env.RECORDING_CALLBACK_ALGORITHM ?? 'HMACSHA256').toUpperCase();
  if (algorithm !== 'HMACSHA256' && algorithm !== 'MD5') {
    throw new UsageError(`--algorithm must be HMACSHA256 or MD5, got "${algorithm}"`);
  }
  const expires = integer('expires', values.expires, 0, -1e9, 1e9);
  return { key: resolveKey(values.key).key, algorithm, expires };
}

/** The --formats list of record formats. */
export function formats(text: string | undefined): RecordFormat[] {
  const list = (text ?? 'HLS,MP4').split(',').map((f) => f.trim().toUpperCase());
  const unknown = list.filter((f) => !FORMATS.includes(f));
  if (!list.length || unknown.length) {
    throw new UsageError(`--formats takes ${FORMATS.join(', ')} separated by commas, got "${text}"`);
  }
  return [...new Set(list)] as RecordFormat[];
}
