import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { verifySignature } from '../protocol/signature';
import type { SignedFields } from '../protocol/signature';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import { keySetFor } from '../recording-callback.options';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';
import { markRequestStart } from './request-timing';
import { RecordingSignatureException } from './signature.exception';
import type { SignatureFailureDetail } from './signature.exception';

const DECIMAL = /^\d{1,12}$/;
/** Fields that enter the HMACSHA256 string to sign besides `auth_timestamp`. */
const SIGNED_TEXT_FIELDS = ['event_type', 'publish_domain', 'app', 'stream', 'download_url', 'play_url'] as const;
/** Key of a domain with no keys: its signature is still computed, so the answer takes as long as a wrong one. */
const DECOY_KEYS = ['0'.repeat(32)];

/** `auth_timestamp` as whole seconds, or undefined when it is not a decimal number of seconds. */
function timestampSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  return typeof value === 'string' && DECIMAL.test(value) ? Number(value) : undefined;
}

/**
 * Verifies `auth_sign` with the algorithm and keys of the callback's `publish_domain`. Every field it
 * reads is type-checked first (a body is hostile until verified); the time window is checked before the
 * signature, so an expired answer never confirms that a captured signature is genuine; every key is
 * tried in constant time. Refusals are 401 with a reason, wrongly typed signed fields 400.
 *
 * @example
 * @UseGuards(SignatureGuard) @Post() receive(@Body() body: unknown) {}
 */
@Injectable()
export class SignatureGuard implements CanActivate {
  constructor(@InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest();
    markRequestStart(request);
    const body: unknown = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidFieldsException({ body: ['body must be a JSON object'] });
    }
    const fields = body as Record<string, unknown>;
    // Signed fields are text on the wire; anything else can be neither signed by Huawei nor valid.
    const wrong = SIGNED_TEXT_FIELDS.filter(
      (f) => fields[f] !== undefined && fields[f] !== null && typeof fields[f] !== 'string',
    );
    if (wrong.length)
      throw new InvalidFieldsException(Object.fromEntries(wrong.map((f) => [f, [`${f} must be a string`]])));

    const { auth } = this.options;
    if (auth === 'none') return true;
    const sign = fields.auth_sign;
    const rawTimestamp = fields.auth_timestamp;
    const absent = (v: unknown) => v === undefined || v === null || v === '';
    if (absent(sign) || absent(rawTimestamp)) return this.refuse('missing_signature');
    const timestamp = timestampSeconds(rawTimestamp);
    if (typeof sign !== 'string' || timestamp === undefined) return this.refuse('bad_signature');

    const nowSeconds = Math.floor(this.options.now() / 1000);
    if (nowSeconds > timestamp + this.options.toleranceSeconds) return this.refuse('expired');
    if (timestamp > nowSeconds + this.options.maxFutureSeconds) return this.refuse('timestamp_ahead');

    const domain = typeof fields.publish_domain === 'string' ? fields.publish_domain : '';
    const keySet = keySetFor(auth, domain);
    // Signed as sent: a text timestamp keeps any leading zeros.
    const signed: SignedFields = { auth_timestamp: String(rawTimestamp) };
    for (const f of SIGNED_TEXT_FIELDS) signed[f] = fields[f] as string | undefined;
    const matched = verifySignature(keySet?.algorithm ?? 'HMACSHA256', signed, sign, keySet?.keys ?? DECOY_KEYS);
    if (!keySet) return this.refuse('unknown_domain');
    return matched || this.refuse('bad_signature');
  }

  private refuse(detail: SignatureFailureDetail): never {
    // The exception filter logs the exact reason and the domain; nothing here may carry a key or a signature.
    throw new RecordingSignatureException(detail);
  }
}
