import { OnEvent } from '@nestjs/event-emitter';
import type { RecordingEventName } from './recording-events';

/**
 * `@OnEvent` for recording events, with errors passed back to the module (`suppressErrors: false`) so a
 * failing handler is logged with its callback id. Plain `@OnEvent` also works, but its errors are only
 * logged by @nestjs/event-emitter, without the callback id.
 *
 * @example
 * @OnRecordingEvent(RecordingEvents.FileComplete)
 * async archive(e: RecordFileCompleteEvent) { await copy(e.file.downloadUrl); }
 */
export function OnRecordingEvent(event: RecordingEventName): MethodDecorator {
  return OnEvent(event, { suppressErrors: false });
}
