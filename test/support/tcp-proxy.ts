import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** A black-holed pair drops every byte in both directions and never closes: a dead peer, no RST. */
  dead: boolean;
}

/**
 * A TCP proxy in front of a database that can turn into a black hole: bytes are dropped and no socket is
 * closed, which is what an application sees when the database host vanishes or the network partitions
 * (unlike a stopped server, which refuses or resets connections at once).
 *
 * @example
 * const proxy = await TcpProxy.start(5432);
 * proxy.blackhole();            // everything hangs, nothing errors
 * proxy.heal();                 // new connections work again; the old ones stay dead
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private blackholed = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    // No connection can arrive before listen() resolves, so `holder.proxy` is set by then.
    const holder: { proxy?: TcpProxy } = {};
    const server = createServer((client) => holder.proxy!.accept(client, targetPort, targetHost));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    holder.proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0);
    return holder.proxy;
  }

  /** Existing and new connections stop carrying bytes, and nothing is closed. */
  blackhole(): void {
    this.blackholed = true;
    for (const pair of this.pairs) pair.dead = true;
  }

  /** New connections work again. Connections black-holed before stay dead, as after a fail-over. */
  heal(): void {
    this.blackholed = false;
  }

  /** Connections currently open through the proxy, and how many of them are dead. */
  counts(): { open: number; dead: number } {
    const all = [...this.pairs];
    return { open: all.length, dead: all.filter((p) => p.dead).length };
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number, targetHost: string): void {
    const upstream = createConnection({ port: targetPort, host: targetHost });
    const pair: Pair = { client, upstream, dead: this.blackholed };
    this.pairs.add(pair);
    client.on('data', (chunk) => {
      if (!pair.dead) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.dead) client.write(chunk);
    });
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // A dead pair keeps the client's socket open: the client must notice on its own (timeouts).
    client.on('close', close);
    client.on('error', close);
    upstream.on('close', () => {
      if (!pair.dead) close();
    });
    upstream.on('error', () => {
      if (!pair.dead) close();
    });
  }
}
