import { BadRequestException, InternalServerErrorException, NotFoundException } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { StorageDataError, StorageUnavailableError } from '../storage/storage.errors';
import { RecordingExceptionFilter } from './recording-exception.filter';

interface Reply {
  body: Record<string, unknown>;
  status: number;
}

function run(exception: unknown, headers: Record<string, string> = {}): { reply: Reply; errors: string[] } {
  let reply: Reply | undefined;
  const adapter = {
    httpAdapter: { reply: (_res: unknown, body: Reply['body'], status: number) => (reply = { body, status }) },
  };
  const filter = new RecordingExceptionFilter(adapter as unknown as HttpAdapterHost);
  const errors: string[] = [];
  (filter as unknown as { logger: { error(m: string): void } }).logger = { error: (m: string) => errors.push(m) };
  const host = {
    switchToHttp: () => ({ getRequest: () => ({ method: 'GET', url: '/x\n', headers }), getResponse: () => ({}) }),
  } as unknown as ArgumentsHost;
  filter.catch(exception, host);
  return { reply: reply!, errors };
}

describe('RecordingExceptionFilter', () => {
  it('answers client errors as they are, with long messages cut', () => {
    const { reply, errors } = run(new NotFoundException({ statusCode: 404, message: `no task ${'x'.repeat(1000)}` }));
    expect(reply.status).toBe(404);
    expect((reply.body.message as string).length).toBe(301);
    expect(errors).toEqual([]);
    expect(run(new BadRequestException(['a'.repeat(500), 'b'])).reply.body.message).toEqual([
      `${'a'.repeat(300)}…`,
      'b',
    ]);
  });

  it('answers a value the database refused with 400 naming the column, and logs nothing', () => {
    const { reply, errors } = run(new StorageDataError('null value in column "app"', '23502', 'app'));
    expect(reply).toMatchObject({ status: 400, body: { fields: { app: [expect.stringContaining('refused')] } } });
    expect(errors).toEqual([]);
  });

  it('answers storage unavailability with 503 and a request id, in one log line', () => {
    const { reply, errors } = run(new StorageUnavailableError('connect ECONNREFUSED', 'ECONNREFUSED'), {
      'x-request-id': 'abc-1',
    });
    expect(reply).toEqual({
      status: 503,
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'storage unavailable; try again later',
        requestId: 'abc-1',
      },
    });
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0])).toMatchObject({
      msg: 'storage unavailable',
      requestId: 'abc-1',
      code: 'ECONNREFUSED',
    });
  });

  it.each([
    ['a plain Error', new Error('bug\nline two')],
    ['a thrown string', 'oops'],
    ['a 500 HTTP exception', new InternalServerErrorException('internal')],
  ])('answers %s with 503, never 500, logged once as one line', (_label, exception) => {
    const { reply, errors } = run(exception);
    expect(reply.status).toBe(503);
    expect(reply.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(errors).toHaveLength(1);
    expect(errors[0].split('\n')).toHaveLength(1);
    expect(JSON.parse(errors[0])).toMatchObject({
      msg: 'unexpected error',
      requestId: reply.body.requestId,
      path: '/x\n',
    });
  });
});
