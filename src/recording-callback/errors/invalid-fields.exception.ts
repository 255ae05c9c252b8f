import { BadRequestException } from '@nestjs/common';
import { cutText } from '../telemetry/log-line';

/** Most fields one 400 answer names; a hostile body could otherwise make the answer as large as itself. */
const MAX_FIELDS = 20;
/** Longest field path or message echoed back; paths are the sender's keys. */
const MAX_TEXT = 200;

const cut = (text: string) => cutText(text, MAX_TEXT);

/**
 * 400 answer for a callback or a query with invalid fields: `{ statusCode, error, message, fields }`,
 * where `fields` maps each field path to its problems. Request text is echoed only inside this JSON,
 * at most {@link MAX_FIELDS} fields and {@link MAX_TEXT} characters each.
 *
 * @example
 * throw new InvalidFieldsException({ task_id: ['task_id must be a string'] });
 */
export class InvalidFieldsException extends BadRequestException {
  constructor(
    fields: Record<string, string[]>,
    what = 'callback',
    /** The message, when not `invalid <what>: <fields>`. */
    message?: string,
  ) {
    const entries = Object.entries(fields)
      .slice(0, MAX_FIELDS)
      .map(([path, problems]) => [cut(path), problems.slice(0, 5).map(cut)] as const);
    const more = Object.keys(fields).length - entries.length;
    const names = entries.map(([path]) => path).join(', ') + (more > 0 ? ` and ${more} more` : '');
    super({
      statusCode: 400,
      error: 'Bad Request',
      message: message === undefined ? `invalid ${what}: ${names}` : cut(message),
      fields: Object.fromEntries(entries),
    });
  }

  /**
   * One invalid field whose problem is also the message, e.g. a cursor that no page produced.
   *
   * @example
   * throw InvalidFieldsException.field('cursor', 'cursor is not valid');
   */
  static field(name: string, problem: string): InvalidFieldsException {
    return new InvalidFieldsException({ [name]: [problem] }, 'request', problem);
  }
}
