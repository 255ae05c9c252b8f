import { RecordingEventType } from '../protocol/recording-event-type';

/**
 * A recording task's status. Ordered `RECORDING < OVER < FAILED`; a task never moves down.
 *
 * @example
 * if (task.status === TaskStatus.Failed) page(task.errorMessage);
 */
export enum TaskStatus {
  Recording = 'RECORDING',
  Over = 'OVER',
  Failed = 'FAILED',
}

/**
 * A file's status. Ordered `RECORDING < COMPLETE`.
 *
 * @example
 * const ready = task.files.filter((f) => f.status === FileStatus.Complete);
 */
export enum FileStatus {
  Recording = 'RECORDING',
  Complete = 'COMPLETE',
}

const TASK_RANK: Record<TaskStatus, number> = { RECORDING: 0, OVER: 1, FAILED: 2 };

/**
 * The least status an event type implies for its task.
 *
 * @example
 * statusOfEvent(RecordingEventType.Over); // TaskStatus.Over
 */
export function statusOfEvent(eventType: RecordingEventType): TaskStatus {
  switch (eventType) {
    case RecordingEventType.Over:
      return TaskStatus.Over;
    case RecordingEventType.Failed:
      return TaskStatus.Failed;
    default:
      return TaskStatus.Recording;
  }
}

/**
 * Join of two task statuses (the higher one); `null` stands for "no event seen yet".
 *
 * @example
 * joinTaskStatus(TaskStatus.Over, TaskStatus.Recording); // TaskStatus.Over
 */
export function joinTaskStatus(a: TaskStatus | null, b: TaskStatus): TaskStatus {
  return a !== null && TASK_RANK[a] >= TASK_RANK[b] ? a : b;
}
