import { codePointLength } from '../protocol/dto/validators';
import { isStorableText } from '../protocol/storable-text';

/**
 * Position in the task list: the last task of a page, by (createdAt DESC, taskId DESC).
 *
 * @example
 * const next = encodeTaskCursor({ createdAt: last.createdAt, taskId: last.taskId });
 */
export interface TaskCursor {
  createdAt: Date;
  taskId: string;
}

/** Opaque base64url cursor for the next page. @example encodeTaskCursor({ createdAt, taskId }) */
export function encodeTaskCursor(cursor: TaskCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.taskId])).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeTaskCursor}; `undefined` when it is not one.
 *
 * @example
 * const position = decodeTaskCursor(query.cursor) ?? fail400();
 */
export function decodeTaskCursor(text: string): TaskCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [at, taskId] = value as unknown[];
    if (
      typeof at !== 'string' ||
      typeof taskId !== 'string' ||
      codePointLength(taskId) > 256 ||
      !isStorableText(taskId)
    ) {
      return undefined;
    }
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) return undefined;
    // Tasks are created now, never before 1970 or after 9999; PostgreSQL refuses dates before 4713 BC.
    const year = createdAt.getUTCFullYear();
    return year < 1970 || year > 9999 ? undefined : { createdAt, taskId };
  } catch {
    return undefined;
  }
}
