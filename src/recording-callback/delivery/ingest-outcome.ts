import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import type { FileState, TaskState, TaskTransition } from '../tasks/task-state.reducer';

/**
 * What storing one callback produced: a duplicate, or the stored id with the task's new state.
 *
 * @example
 * if (outcome.result === 'accepted') worker.kick(outcome.task.taskId);
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
    };
