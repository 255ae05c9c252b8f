import { BadRequestException } from '@nestjs/common';

/**
 * The one 400 answer of the module's routes: a message and the fields at fault, each with its problems.
 * Body: `{ statusCode: 400, error: 'Bad Request', message, fields: { name: [problem, …] } }`.
 *
 * @example
 * throw InvalidFieldsException.field('cursor', 'cursor is not valid');
 */
export class InvalidFieldsException extends BadRequestException {
  constructor(
    message: string,
    /** Field name → what is wrong with it. */
    readonly fields: Record<string, string[]>,
  ) {
    super({ statusCode: 400, error: 'Bad Request', message, fields });
  }

  /**
   * A refused callback body, naming its invalid fields.
   *
   * @example
   * throw InvalidFieldsException.inCallback({ task_id: ['task_id must be a string'] });
   */
  static inCallback(fields: Record<string, string[]>): InvalidFieldsException {
    return new InvalidFieldsException(`invalid callback: ${Object.keys(fields).join(', ')}`, fields);
  }

  /**
   * A refused query string, naming its invalid parameters.
   *
   * @example
   * throw InvalidFieldsException.inQuery({ limit: ['limit must not be greater than 100'] });
   */
  static inQuery(fields: Record<string, string[]>): InvalidFieldsException {
    return new InvalidFieldsException(`invalid query: ${Object.keys(fields).join(', ')}`, fields);
  }

  /**
   * One invalid field, whose problem is also the message.
   *
   * @example
   * throw InvalidFieldsException.field('body', 'body must be a JSON object');
   */
  static field(name: string, problem: string): InvalidFieldsException {
    return new InvalidFieldsException(problem, { [name]: [problem] });
  }
}
