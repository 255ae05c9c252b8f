import { UnauthorizedException } from '@nestjs/common';

/**
 * Why a callback's signature was refused, as the client is told. Machine-readable; never includes a key
 * or a signature. An unknown `publish_domain` is answered `bad_signature` like a wrong signature, so the
 * answer does not tell which domains are configured; `expired` covers a timestamp too old and one too
 * far ahead.
 *
 * @example
 * if (body.reason === 'expired') checkClock();
 */
export type SignatureFailureReason = 'missing_signature' | 'bad_signature' | 'expired';

/**
 * The exact reason of a refusal, kept for the operator: in the log line and the metrics label, never in
 * the answer. `unknown_domain` is answered `bad_signature`; `timestamp_ahead` (an `auth_timestamp` more
 * than `maxFutureSeconds` ahead) is answered `expired`.
 *
 * @example
 * metrics.inc({ reason: exception.detail });
 */
export type SignatureFailureDetail = SignatureFailureReason | 'unknown_domain' | 'timestamp_ahead';

const ANSWERED: Record<SignatureFailureDetail, SignatureFailureReason> = {
  missing_signature: 'missing_signature',
  bad_signature: 'bad_signature',
  expired: 'expired',
  unknown_domain: 'bad_signature',
  timestamp_ahead: 'expired',
};

const MESSAGES: Record<SignatureFailureReason, string> = {
  missing_signature: 'auth_sign and auth_timestamp are required',
  bad_signature: 'auth_sign does not match any configured key for this domain',
  expired: 'auth_timestamp is outside the accepted window',
};

/**
 * 401 answer of the signature guard, with a `reason` field; `detail` keeps the exact reason for logs.
 *
 * @example
 * throw new RecordingSignatureException('unknown_domain'); // answered { reason: 'bad_signature' }
 */
export class RecordingSignatureException extends UnauthorizedException {
  /** The reason the client is told. */
  readonly reason: SignatureFailureReason;

  constructor(readonly detail: SignatureFailureDetail) {
    const reason = ANSWERED[detail];
    super({ statusCode: 401, error: 'Unauthorized', reason, message: MESSAGES[reason] });
    this.reason = reason;
  }
}
