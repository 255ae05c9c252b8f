import { validateDto } from './compiled-validation';
import { toDtoInstance } from './dto-instance';
import { DTO_BY_EVENT_TYPE } from './dto/recording-callback.dto';
import type { RecordingCallbackDto } from './dto/recording-callback.dto';
import { RECORDING_EVENT_TYPES, isRecordingEventType } from './recording-event-type';
import { MAX_JSON_DEPTH, exceedsJsonDepth } from './json-depth';
import { unstorableTextPaths } from './storable-text';

/**
 * Outcome of {@link parseRecordingCallback}: the typed DTO, or the invalid fields with their messages.
 *
 * @example
 * const r = parseRecordingCallback(body); if (!r.ok) console.log(r.fields);
 */
export type ParseResult = { ok: true; dto: RecordingCallbackDto } | { ok: false; fields: Record<string, string[]> };

/**
 * Validates a decoded JSON body into the DTO class of its `event_type`.
 * Unknown extra fields are kept on the DTO, because Huawei adds fields over time.
 *
 * @example
 * const r = parseRecordingCallback({ event_type: 'RECORD_START', task_id: 't', ... });
 * if (r.ok) r.dto.task_id;
 */
export function parseRecordingCallback(body: unknown): ParseResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, fields: { body: ['body must be a JSON object'] } };
  }
  // First, before anything walks the body recursively.
  if (exceedsJsonDepth(body)) {
    return {
      ok: false,
      fields: { body: [`body must not nest arrays or objects deeper than ${MAX_JSON_DEPTH} levels`] },
    };
  }
  const unstorable = unstorableTextPaths(body);
  if (unstorable.length) {
    const message = 'must not contain NUL characters or unpaired surrogates';
    return { ok: false, fields: Object.fromEntries(unstorable.map((p) => [p, [`${p} ${message}`]])) };
  }
  const eventType = (body as Record<string, unknown>).event_type;
  if (!isRecordingEventType(eventType)) {
    return {
      ok: false,
      fields: { event_type: [`event_type must be one of ${RECORDING_EVENT_TYPES.join(', ')}`] },
    };
  }
  const dto = toDtoInstance(
    DTO_BY_EVENT_TYPE[eventType] as unknown as new () => RecordingCallbackDto,
    body as Record<string, unknown>,
  );
  const fields = validateDto(dto);
  return Object.keys(fields).length ? { ok: false, fields } : { ok: true, dto };
}
