import { RecordFailedDto } from '../protocol/dto/record-failed.dto';
import { RecordFileCompleteDto } from '../protocol/dto/record-file-complete.dto';
import { RecordNewFileStartDto } from '../protocol/dto/record-new-file-start.dto';
import { RecordOverDto } from '../protocol/dto/record-over.dto';
import { RecordStartDto } from '../protocol/dto/record-start.dto';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import type { RecordContentItem } from '../protocol/live-api';
import { RecordingEventType } from '../protocol/recording-event-type';
import type { FileState, TaskState, TaskTransition } from '../tasks/task-state.reducer';

/**
 * Names of the events the module emits through EventEmitter2, after the callback is committed.
 *
 * @example
 * @OnEvent(RecordingEvents.FileComplete) onFile(e: RecordFileCompleteEvent) {}
 */
export const RecordingEvents = {
  Start: 'recording.start',
  NewFileStart: 'recording.new-file-start',
  FileComplete: 'recording.file-complete',
  Over: 'recording.over',
  Failed: 'recording.failed',
  /** Emitted once for each change of a task's status. */
  StatusChanged: 'recording.status-changed',
  /** Emitted once when a RECORDING task has had no callback for the watchdog's time. */
  Stalled: 'recording.stalled',
  /** Emitted once for each file reconciliation found in Huawei's listing but no callback reported. */
  FileRecovered: 'recording.file.recovered',
  /** Emitted when a delivery used up its attempts; it can be replayed. */
  DeliveryDead: 'recording.delivery-dead',
} as const;

/**
 * Any of the {@link RecordingEvents} names.
 *
 * @example
 * const name: RecordingEventName = RecordingEvents.Over;
 */
export type RecordingEventName = (typeof RecordingEvents)[keyof typeof RecordingEvents];

/**
 * The event name emitted for each Huawei event type.
 *
 * @example
 * EVENT_NAME_BY_TYPE[RecordingEventType.Over]; // 'recording.over'
 */
export const EVENT_NAME_BY_TYPE: Readonly<Record<RecordingEventType, RecordingEventName>> = {
  [RecordingEventType.Start]: RecordingEvents.Start,
  [RecordingEventType.NewFileStart]: RecordingEvents.NewFileStart,
  [RecordingEventType.FileComplete]: RecordingEvents.FileComplete,
  [RecordingEventType.Over]: RecordingEvents.Over,
  [RecordingEventType.Failed]: RecordingEvents.Failed,
};

/**
 * Payload of every per-callback event: the validated callback, its stable id, the delivery attempt, the
 * task's state after this callback, and the file it concerns (file events only).
 *
 * @example
 * @OnEvent(RecordingEvents.Over) onOver(e: RecordOverEvent) { db.markDone(e.callbackId, e.task.status); }
 */
export class RecordingCallbackEvent<T extends RecordingCallbackDto = RecordingCallbackDto> {
  constructor(
    /** Stable id of the stored callback; use it to make handlers idempotent. */
    readonly callbackId: number,
    /** The validated callback, as Huawei sent it (snake_case fields, unknown fields kept). */
    readonly callback: T,
    /** The task's state right after this callback was applied. */
    readonly task: TaskState,
    /** The file's state right after this callback, for RECORD_NEW_FILE_START and RECORD_FILE_COMPLETE. */
    readonly file: FileState | null,
    /** 1 for the first delivery; higher when the delivery is retried. */
    readonly attempt: number = 1,
  ) {}
}

/** Payload of {@link RecordingEvents.Start}. @example @OnEvent(RecordingEvents.Start) on(e: RecordStartEvent) {} */
export class RecordStartEvent extends RecordingCallbackEvent<RecordStartDto> {}
/** Payload of {@link RecordingEvents.NewFileStart}. @example @OnEvent(RecordingEvents.NewFileStart) on(e: RecordNewFileStartEvent) {} */
export class RecordNewFileStartEvent extends RecordingCallbackEvent<RecordNewFileStartDto> {
  declare readonly file: FileState;
}
/**
 * Payload of {@link RecordingEvents.FileComplete}. `recovered` is set when reconciliation already
 * recovered this file (same download URL) and delivered it as {@link RecordingEvents.FileRecovered}:
 * a handler that acted on the recovery can skip it.
 *
 * @example
 * @OnEvent(RecordingEvents.FileComplete) on(e: RecordFileCompleteEvent) { if (!e.recovered) fetch(e.file.downloadUrl); }
 */
export class RecordFileCompleteEvent extends RecordingCallbackEvent<RecordFileCompleteDto> {
  declare readonly file: FileState;
  /** The recovered file this callback reports again, or null. */
  recovered: RecoveredFileRef | null = null;
}

/**
 * A file stored by reconciliation, as a later RECORD_FILE_COMPLETE of the same file names it.
 *
 * @example
 * { taskId: 'reconciled-3f…', jobId: 'reconciled-9a…', recoveryKey: '9a…' }
 */
export interface RecoveredFileRef {
  taskId: string;
  jobId: string;
  recoveryKey: string;
}
/** Payload of {@link RecordingEvents.Over}. @example @OnEvent(RecordingEvents.Over) on(e: RecordOverEvent) {} */
export class RecordOverEvent extends RecordingCallbackEvent<RecordOverDto> {}
/** Payload of {@link RecordingEvents.Failed}. @example @OnEvent(RecordingEvents.Failed) on(e: RecordFailedEvent) { e.callback.error_message; } */
export class RecordFailedEvent extends RecordingCallbackEvent<RecordFailedDto> {}

/**
 * Payload of {@link RecordingEvents.StatusChanged}: one change of a task's status.
 *
 * @example
 * @OnEvent(RecordingEvents.StatusChanged) on(e: TaskStatusChangedEvent) { log(e.transition.fromStatus, e.transition.toStatus); }
 */
export class TaskStatusChangedEvent {
  constructor(
    readonly callbackId: number,
    readonly transition: TaskTransition,
    readonly task: TaskState,
    readonly at: Date,
    readonly attempt: number = 1,
  ) {}
}

const EVENT_CLASS_BY_TYPE = {
  [RecordingEventType.Start]: RecordStartEvent,
  [RecordingEventType.NewFileStart]: RecordNewFileStartEvent,
  [RecordingEventType.FileComplete]: RecordFileCompleteEvent,
  [RecordingEventType.Over]: RecordOverEvent,
  [RecordingEventType.Failed]: RecordFailedEvent,
} as const;

/**
 * Builds the typed payload class for a callback's event type.
 *
 * @example
 * const e = createCallbackEvent(id, dto, task, file); // a RecordFileCompleteEvent for RECORD_FILE_COMPLETE
 */
export function createCallbackEvent(
  callbackId: number,
  callback: RecordingCallbackDto,
  task: TaskState,
  file: FileState | null,
  attempt = 1,
): RecordingCallbackEvent {
  const EventClass = EVENT_CLASS_BY_TYPE[callback.event_type] as typeof RecordingCallbackEvent;
  return new EventClass(callbackId, callback, task, file, attempt);
}

/**
 * Payload of {@link RecordingEvents.Stalled}: the task had no callback since `task.lastEventAt`.
 *
 * @example
 * @OnEvent(RecordingEvents.Stalled) on(e: TaskStalledEvent) { alert(e.task.taskId); }
 */
export class TaskStalledEvent {
  constructor(
    readonly taskId: string,
    readonly task: TaskState,
    readonly stalledAt: Date,
    readonly attempt: number = 1,
  ) {}
}

/** The `event_type` of a recovered file's delivery (it has no callback). */
export const RECOVERED_EVENT_TYPE = 'RECOVERED';

/**
 * What a recovered file's delivery keeps besides task and file: the listing item it came from.
 *
 * @example
 * { item, recoveryKey: '9a…', runId: 3, synthetic: true }
 */
export interface RecoveredFileContext {
  item: RecordContentItem;
  recoveryKey: string;
  runId: number;
  /** True when no stored task matched, and `task` is the stream's synthetic `reconciled-…` task. */
  synthetic: boolean;
}

/**
 * Payload of {@link RecordingEvents.FileRecovered}: a file Huawei lists that no callback reported,
 * now stored (with `source` `reconciled`) in `task`, delivered once like every other event. A
 * RECORD_FILE_COMPLETE that arrives later for it carries `recovered` (see {@link RecordFileCompleteEvent}).
 *
 * @example
 * @OnEvent(RecordingEvents.FileRecovered) on(e: RecordingFileRecoveredEvent) { fetch(e.file.downloadUrl); }
 */
export class RecordingFileRecoveredEvent {
  constructor(
    /** The task the file was stored in: a matching stored task, or the stream's synthetic task. */
    readonly task: TaskState,
    /** The stored file (status COMPLETE; its job id is made from the recovery key). */
    readonly file: FileState,
    /** Huawei's listing item, as listed. */
    readonly item: RecordContentItem,
    /** SHA-256 of the download URL (or OBS object): the same for a later callback of this file. */
    readonly recoveryKey: string,
    /** True when `task` is synthetic (no stored task matched). */
    readonly synthetic: boolean,
    readonly runId: number,
    readonly attempt: number = 1,
  ) {}
}

/**
 * Payload of {@link RecordingEvents.DeliveryDead}: a delivery failed its last attempt.
 * Emitted once per death (not retried); replay the delivery to try its handlers again.
 *
 * @example
 * @OnEvent(RecordingEvents.DeliveryDead) on(e: DeliveryDeadEvent) { page(`delivery ${e.deliveryId}: ${e.lastError}`); }
 */
export class DeliveryDeadEvent {
  constructor(
    readonly deliveryId: number,
    readonly callbackId: number | null,
    readonly taskId: string,
    readonly eventType: string,
    readonly attempts: number,
    readonly lastError: string,
  ) {}
}
