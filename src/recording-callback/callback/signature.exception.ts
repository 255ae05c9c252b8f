import { UnauthorizedException } from '@nestjs/common';

/**
 * Why a callback's signature was refused. Machine-readable; never includes a key or a signature.
 *
 * @example
 * if (body.reason === 'expired') checkClock();
 */
export type SignatureFailureReason = 'missing_signature' | 'bad_signature' | 'expired' | 'unknown_domain';

const MESSAGES: Record<SignatureFailureReason, string> = {
  missing_signature: 'auth_sign and auth_timestamp are required',
  bad_signature: 'auth_sign does not match any configured key for this domain',
  expired: 'auth_timestamp is past the accepted window',
  unknown_domain: 'no callback key is configured for this publish_domain',
};

/**
 * 401 answer of the signature guard, with a `reason` field.
 *
 * @example
 * throw new RecordingSignatureException('expired');
 */
export class RecordingSignatureException extends UnauthorizedException {
  constructor(readonly reason: SignatureFailureReason) {
    super({ statusCode: 401, error: 'Unauthorized', reason, message: MESSAGES[reason] });
  }
}
