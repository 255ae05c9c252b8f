// The strict query pipe over both list queries (tasks and deliveries); here, since delivery/ may import tasks/.
import { BadRequestException } from '@nestjs/common';
import type { ArgumentMetadata } from '@nestjs/common';
import { ListDeliveriesQuery } from './list-deliveries.query';
import { ListTasksQuery } from '../tasks/list-tasks.query';
import { NoQueryParameters } from '../tasks/query-params';
import { strictQueryPipe } from '../tasks/strict-query.pipe';

const values: Array<[string, unknown]> = [
  ['text', 'abc'],
  ['empty', ''],
  ['number text', '50'],
  ['repeated (array)', ['a', 'b']],
  ['object', { a: '1' }],
  ['NUL', 'a\u0000b'],
  ['long', 'x'.repeat(700)],
];

async function outcome(query: Record<string, unknown>, metatype: ArgumentMetadata['metatype']): Promise<string> {
  try {
    await strictQueryPipe.transform(query, { type: 'query', metatype });
    return 'ok';
  } catch (error) {
    if (!(error instanceof BadRequestException)) throw error;
    return Object.keys((error.getResponse() as { fields: object }).fields).join(',');
  }
}

describe.each([
  ['ListTasksQuery', ListTasksQuery, ['publishDomain', 'app', 'stream', 'status', 'limit', 'cursor']],
  ['ListDeliveriesQuery', ListDeliveriesQuery, ['status', 'taskId', 'limit', 'cursor']],
] as const)('strictQueryPipe with %s', (_name, metatype, params) => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'unknown'])(
    'refuses the unknown parameter %s',
    async (name) => {
      // Built as a querystring parser builds it: an own key, on an object without a prototype.
      const query = Object.assign(Object.create(null), { [name]: '1' });
      expect(await outcome(query, metatype)).toBe(name);
    },
  );

  describe.each(params)('%s of every shape', (param) => {
    it.each(values)('%s: valid or a 400 naming it', async (_label, value) => {
      const result = await outcome(Object.assign(Object.create(null), { [param]: value }), metatype);
      expect(['ok', param]).toContain(result);
      if (Array.isArray(value) || typeof value === 'object') expect(result).toBe(param);
      // Text filters are compared with stored text, which PostgreSQL refuses with a NUL in it; cursors are
      // decoded (and refused) by the service.
      if (value === 'a\u0000b' && param !== 'cursor') expect(result).toBe(param);
    });
  });
});

describe('strictQueryPipe: limit takes decimal digits only', () => {
  it.each(['0x10', '0b11', '1e2', '+5', ' 5', '5 ', '5.0', '-1', '0', '101'])('refuses limit=%s', async (limit) => {
    expect(await outcome(Object.assign(Object.create(null), { limit }), ListTasksQuery)).toBe('limit');
  });

  it.each(['1', '20', '100', '007'])('accepts limit=%s', async (limit) => {
    expect(await outcome(Object.assign(Object.create(null), { limit }), ListTasksQuery)).toBe('ok');
  });
});

describe('strictQueryPipe with NoQueryParameters (routes that take none)', () => {
  it('passes an empty query', async () => {
    expect(await outcome(Object.create(null), NoQueryParameters)).toBe('ok');
  });

  it.each(['foo', '__proto__', 'limit'])('refuses ?%s=1', async (name) => {
    expect(await outcome(Object.assign(Object.create(null), { [name]: '1' }), NoQueryParameters)).toBe(name);
  });
});
