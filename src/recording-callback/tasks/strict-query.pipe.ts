import { BadRequestException, ValidationPipe } from '@nestjs/common';

/**
 * Validation for query strings: converts and checks parameters, refuses unknown ones, and answers 400
 * with the fields at fault.
 *
 * @example
 * list(@Query(strictQueryPipe) query: ListTasksQuery) {}
 */
export const strictQueryPipe = new ValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  exceptionFactory: (errors) => {
    const fields = Object.fromEntries(errors.map((e) => [e.property, Object.values(e.constraints ?? {})]));
    return new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: `invalid query: ${Object.keys(fields).join(', ')}`,
      fields,
    });
  },
});
