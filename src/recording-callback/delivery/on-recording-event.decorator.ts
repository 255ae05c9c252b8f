import { OnEvent } from '@nestjs/event-emitter';
import type { RecordingEventName } from './recording-events';

/**
 * `@OnEvent` restricted to the module's event names, so a typo fails to compile. Plain
 * `@OnEvent(RecordingEvents.…)` works the same: the module finds both and delivers to each handler.
 *
 * @example
 * @OnRecordingEvent(RecordingEvents.FileComplete)
 * async archive(e: RecordFileCompleteEvent) { await copy(e.file.downloadUrl); }
 */
export function OnRecordingEvent(event: RecordingEventName): MethodDecorator {
  return OnEvent(event);
}
