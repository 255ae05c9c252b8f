import { PassThrough } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { boundedJsonBody } from './bounded-json-body';

/** A request whose body is written by the test, with the headers a JSON POST has. */
function jsonRequest(body: string): IncomingMessage & { body?: unknown } {
  const req = new PassThrough() as unknown as IncomingMessage & { body?: unknown };
  Object.assign(req, {
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    url: '/recording-callbacks',
  });
  return req;
}

const checkPhase = () => new Promise((resolve) => setImmediate(resolve));

/** A `next` that records the arguments of each call. */
function recordingNext() {
  const calls: unknown[][] = [];
  return Object.assign((...args: unknown[]) => void calls.push(args), { calls });
}

describe('boundedJsonBody', () => {
  const res = {} as ServerResponse;

  it('hands the parsed body on in the check phase after the body ended, not inside the end event', async () => {
    const req = jsonRequest('{"task_id":"t1"}');
    const next = recordingNext();
    boundedJsonBody()(req, res, next);
    let calledAtEnd: number | undefined;
    // Registered after the middleware's own listener: runs right after it, in the same emit.
    (req as unknown as PassThrough).on('end', () => (calledAtEnd = next.calls.length));
    (req as unknown as PassThrough).end('{"task_id":"t1"}');
    await new Promise((resolve) => (req as unknown as PassThrough).once('end', resolve));
    expect(calledAtEnd).toBe(0);
    await checkPhase();
    expect(next.calls).toEqual([[]]);
    expect(req.body).toEqual({ task_id: 't1' });
  });

  it('hands nothing on once the request was given up before the check phase (the done guard)', async () => {
    const req = jsonRequest('{"a":1}');
    const next = recordingNext();
    boundedJsonBody()(req, res, next);
    const stream = req as unknown as PassThrough;
    stream.on('end', () => stream.emit('aborted'));
    stream.end('{"a":1}');
    await new Promise((resolve) => stream.once('end', resolve));
    await checkPhase();
    await checkPhase();
    expect(next.calls).toEqual([]);
    expect(req.body).toBeUndefined();
  });
});
