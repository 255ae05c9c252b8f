import { BadRequestException, CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { verifySignature } from '../protocol/signature';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import { keySetFor } from '../recording-callback.options-resolver';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { markRequestStart } from './request-timing';
import { RecordingSignatureException } from './signature.exception';

const DECIMAL = /^\d{1,12}$/;

/**
 * Verifies `auth_sign` with the algorithm and keys of the callback's `publish_domain`, trying every key
 * in constant time, then checks `now <= auth_timestamp + tolerance`. Refusals are 401 with a reason.
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
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'body must be a JSON object',
        fields: { body: ['body must be a JSON object'] },
      });
    }
    const { auth } = this.options;
    if (auth === 'none') return true;
    const fields = body as Record<string, unknown>;
    const domain = typeof fields.publish_domain === 'string' ? fields.publish_domain : '';
    const keySet = keySetFor(auth, domain);
    if (!keySet) return this.refuse('unknown_domain');
    const sign = fields.auth_sign;
    const timestamp = fields.auth_timestamp;
    if (typeof sign !== 'string' || sign === '' || timestamp === undefined || timestamp === null || timestamp === '') {
      return this.refuse('missing_signature');
    }
    const timestampText = String(timestamp);
    if ((typeof timestamp !== 'number' && typeof timestamp !== 'string') || !DECIMAL.test(timestampText)) {
      return this.refuse('bad_signature');
    }
    const signed = {
      auth_timestamp: timestampText,
      event_type: fields.event_type as string | undefined,
      publish_domain: fields.publish_domain as string | undefined,
      app: fields.app as string | undefined,
      stream: fields.stream as string | undefined,
      download_url: fields.download_url as string | undefined,
      play_url: fields.play_url as string | undefined,
    };
    if (!verifySignature(keySet.algorithm, signed, sign, keySet.keys)) return this.refuse('bad_signature');
    const nowSeconds = Math.floor(this.options.now() / 1000);
    if (nowSeconds > Number(timestampText) + this.options.toleranceSeconds) return this.refuse('expired');
    return true;
  }

  private refuse(reason: RecordingSignatureException['reason']): never {
    // The exception filter logs the reason and domain; nothing here may carry a key or a signature.
    throw new RecordingSignatureException(reason);
  }
}
