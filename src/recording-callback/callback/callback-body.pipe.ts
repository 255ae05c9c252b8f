import { Injectable, PipeTransform } from '@nestjs/common';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { parseRecordingCallback } from '../protocol/parse-callback';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';

/**
 * Validates a callback body into the DTO class of its `event_type`; a 400 names the invalid fields.
 *
 * @example
 * @Post() receive(@Body(CallbackBodyPipe) dto: RecordingCallbackDto) {}
 */
@Injectable()
export class CallbackBodyPipe implements PipeTransform<unknown, RecordingCallbackDto> {
  transform(body: unknown): RecordingCallbackDto {
    const parsed = parseRecordingCallback(body);
    if (!parsed.ok) throw new InvalidFieldsException(parsed.fields);
    // Checked by the guard already; handlers never need it, and in MD5 mode it works as a bearer
    // token until it expires, so it must not travel on to them (or into their logs).
    delete parsed.dto.auth_sign;
    return parsed.dto;
  }
}
