import { PassThrough } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { boundedJsonBody } from './bounded-json-body';

type TestRequest = PassThrough & IncomingMessage & { body?: unknown };

/**
 * Runs the middleware on a JSON POST whose body the returned stream carries (written with `end`), and
 * records every call of its `next`.
 */
function handle(body: string): { req: TestRequest; calls: unknown[][] } {
  const req = new PassThrough() as TestRequest;
  Object.assign(req, {
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    url: '/recording-callbacks',
  });
  const calls: unknown[][] = [];
  boundedJsonBody()(req, {} as ServerResponse, (...args: unknown[]) => void calls.push(args));
  return { req, calls };
}

/** Ends the body and resolves once its 'end' event was emitted. */
function endBody(req: TestRequest, body: string): Promise<unknown> {
  const ended = new Promise((resolve) => req.once('end', resolve));
  req.end(body);
  return ended;
}

const checkPhase = () => new Promise((resolve) => setImmediate(resolve));

describe('boundedJsonBody', () => {
  it('hands the parsed body on in the check phase after the body ended, not inside the end event', async () => {
    const body = '{"task_id":"t1"}';
    const { req, calls } = handle(body);
    let calledAtEnd: number | undefined;
    // Registered after the middleware's own listener: runs right after it, in the same emit.
    req.on('end', () => (calledAtEnd = calls.length));
    await endBody(req, body);
    expect(calledAtEnd).toBe(0);
    await checkPhase();
    expect(calls).toEqual([[]]);
    expect(req.body).toEqual({ task_id: 't1' });
  });

  it('hands nothing on once the request was given up before the check phase (the done guard)', async () => {
    const body = '{"a":1}';
    const { req, calls } = handle(body);
    req.on('end', () => req.emit('aborted'));
    await endBody(req, body);
    await checkPhase();
    await checkPhase();
    expect(calls).toEqual([]);
    expect(req.body).toBeUndefined();
  });
});
