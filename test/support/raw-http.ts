import { connect } from 'node:net';

/** What a raw HTTP exchange produced. */
export interface RawExchange {
  /** Everything the server sent, as text. */
  response: string;
  /** Body bytes the client managed to hand to the socket before the server closed it. */
  bodyBytesWritten: number;
  /** True when the server closed the connection (end or reset) before the client stopped sending. */
  closedByServer: boolean;
}

/**
 * Sends a request head, then body chunks from `chunks` (until it ends or the server closes the
 * connection), and collects the answer. For what supertest cannot do: lie about Content-Length, stream
 * a body without end, and see whether the server closed the connection.
 *
 * @example
 * const r = await rawExchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n', ['{']);
 */
export function rawExchange(port: number, head: string, chunks: Iterable<Buffer | string>): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let written = 0;
    let closedByServer = false;
    let sending = true;
    const iterator = chunks[Symbol.iterator]();
    const finish = () =>
      resolve({ response: Buffer.concat(received).toString('utf8'), bodyBytesWritten: written, closedByServer });
    const pump = () => {
      while (sending) {
        const next = iterator.next();
        if (next.done) {
          sending = false;
          return;
        }
        const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        const flushed = socket.write(chunk, (error) => {
          if (!error) written += chunk.length;
        });
        if (!flushed) return void socket.once('drain', pump);
      }
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
    socket.on('data', (d) => received.push(d));
    socket.on('end', () => {
      closedByServer = true;
      socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset while sending is the server closing on us; anything else is the test's problem.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') closedByServer = true;
      else reject(error);
    });
    socket.on('close', () => {
      sending = false;
      finish();
    });
  });
}
