import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, EventEmitterReadinessWatcher } from '@nestjs/event-emitter';
import type { IngestOutcome } from './ingest-outcome';
import { EVENT_NAME_BY_TYPE, RecordingEvents, TaskStatusChangedEvent, createCallbackEvent } from './recording-events';

/**
 * Hands committed callbacks to the app's `@OnEvent` handlers. It waits until EventEmitterModule has
 * bound the listeners, and a failing handler is logged with the callback id; it never reaches the HTTP
 * answer, which was decided by the commit.
 *
 * @example
 * void dispatcher.dispatch(outcome); // after the transaction committed
 */
@Injectable()
export class RecordingEventDispatcher {
  private readonly logger = new Logger('RecordingCallback');

  constructor(
    private readonly emitter: EventEmitter2,
    private readonly readiness: EventEmitterReadinessWatcher,
  ) {}

  async dispatch(outcome: Extract<IngestOutcome, { result: 'accepted' }>): Promise<void> {
    await this.readiness.waitUntilReady();
    const { callbackId, callback, task, file, transition, receivedAt } = outcome;
    await this.emit(EVENT_NAME_BY_TYPE[callback.event_type], createCallbackEvent(callbackId, callback, task, file), callbackId);
    if (transition) {
      await this.emit(RecordingEvents.StatusChanged, new TaskStatusChangedEvent(callbackId, transition, task, receivedAt), callbackId);
    }
  }

  private async emit(name: string, payload: unknown, callbackId: number): Promise<void> {
    try {
      await this.emitter.emitAsync(name, payload);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error(`handler of ${name} failed for callback ${callbackId}: ${message}`);
    }
  }
}
