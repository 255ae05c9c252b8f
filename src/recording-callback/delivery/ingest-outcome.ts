import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import type { FileState, TaskState, TaskTransition } from '../tasks/task-state.reducer';
import type { DeliveryRow } from './delivery-worker.service';

/**
 * What storing one callback produced: a duplicate, or the stored id with the task's new state.
 *
 * @example
 * if (outcome.result === 'accepted') worker.start(outcome.task.taskId, outcome.delivery);
 */
export type IngestOutcome =
  | { result: 'duplicate'; callbackId: number }
  | {
      result: 'accepted';
      callbackId: number;
      callback: RecordingCallbackDto;
      task: TaskState;
      file: FileState | null;
      transition: TaskTransition | null;
      receivedAt: Date;
      /** The delivery, when this instance claimed it in the same transaction. */
      delivery?: DeliveryRow;
    };
