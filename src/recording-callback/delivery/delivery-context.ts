import type { FileState, TaskState, TaskTransition } from '../tasks/task-state.reducer';
import type { RecoveredFileContext, RecoveredFileRef } from './recording-events';

/**
 * What a delivery needs besides the stored callback to rebuild its payloads on any instance, at any
 * later attempt: the task and file state right after the callback, and the status change it caused.
 *
 * @example
 * const context: DeliveryContext = { task, file, transition, at: receivedAt };
 */
export interface DeliveryContext {
  task: TaskState;
  file: FileState | null;
  transition: TaskTransition | null;
  at: Date;
  /** For a recovered file's delivery: the listing item and its key. */
  recovered?: RecoveredFileContext;
  /** For a RECORD_FILE_COMPLETE of a file reconciliation had already recovered. */
  recoveredAs?: RecoveredFileRef | null;
}

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));

/**
 * Reads a context back from its JSON column (a string on SQLite, an object on PostgreSQL), turning the
 * ISO strings JSON made of its dates back into `Date`s.
 *
 * @example
 * const { task } = reviveContext(row.context);
 */
export function reviveContext(raw: unknown): DeliveryContext {
  if (raw && typeof raw === 'object' && (raw as DeliveryContext).at instanceof Date) return raw as DeliveryContext;
  const value = (typeof raw === 'string' ? JSON.parse(raw) : raw) as {
    task: TaskState;
    file: FileState | null;
    transition: TaskTransition | null;
    at: string;
    recovered?: RecoveredFileContext;
    recoveredAs?: RecoveredFileRef | null;
  };
  const task = { ...value.task, lastEventAt: date(value.task.lastEventAt) } as TaskState;
  const file = value.file
    ? ({ ...value.file, startTime: date(value.file.startTime), endTime: date(value.file.endTime) } as FileState)
    : null;
  const revived: DeliveryContext = { task, file, transition: value.transition ?? null, at: date(value.at)! };
  if (value.recovered) revived.recovered = value.recovered;
  if (value.recoveredAs) revived.recoveredAs = value.recoveredAs;
  return revived;
}
