import { BadRequestException } from '@nestjs/common';

/** Most fields one 400 answer names; a hostile body could otherwise make the answer as large as itself. */
const MAX_FIELDS = 20;
/** Longest field path or message echoed back; paths are the sender's keys. */
const MAX_TEXT = 200;

const cut = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

/**
 * 400 answer for a callback or a query with invalid fields: `{ statusCode, error, message, fields }`,
 * where `fields` maps each field path to its problems. Request text is echoed only inside this JSON,
 * at most {@link MAX_FIELDS} fields and {@link MAX_TEXT} characters each.
 *
 * @example
 * throw new InvalidFieldsException({ task_id: ['task_id must be a string'] });
 */
export class InvalidFieldsException extends BadRequestException {
  constructor(fields: Record<string, string[]>, what = 'callback') {
    const entries = Object.entries(fields)
      .slice(0, MAX_FIELDS)
      .map(([path, problems]) => [cut(path), problems.slice(0, 5).map(cut)] as const);
    const more = Object.keys(fields).length - entries.length;
    const names = entries.map(([path]) => path).join(', ') + (more > 0 ? ` and ${more} more` : '');
    super({
      statusCode: 400,
      error: 'Bad Request',
      message: `invalid ${what}: ${names}`,
      fields: Object.fromEntries(entries),
    });
  }
}
