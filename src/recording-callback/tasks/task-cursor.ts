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
    if (typeof at !== 'string' || typeof taskId !== 'string' || taskId.length > 256 || !isStorableText(taskId)) {
      return undefined;
    }
    const createdAt = new Date(at);
    return Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at ? undefined : { createdAt, taskId };
  } catch {
    return undefined;
  }
}
