import { Client, Connection } from 'pg';

type ProtocolConnection = {
  parsedStatements: Record<string, string>;
  submittedNamedStatements?: Record<string, string>;
};

/**
 * Runs `work`, recording the text of every query handed to a pg client meanwhile (named or not; a statement
 * that travels after another in one exchange is not a query of its own), and the round trips on the wire:
 * each exchange up to a Sync (or one simple query), as the statements it executed.
 */
export async function recordingQueries<T>(
  work: () => Promise<T>,
): Promise<{ result: T; sent: string[]; exchanges: string[][] }> {
  const sent: string[] = [];
  const exchanges: string[][] = [];
  let current: string[] = [];
  let unnamed = '';
  let bound = '';
  // Every statement reaches PostgreSQL through a pg client's `query`: record each text.
  const realQuery = Client.prototype.query;
  Client.prototype.query = function (this: Client, config: unknown, ...rest: unknown[]) {
    sent.push(typeof config === 'string' ? config : (config as { text: string }).text);
    return (realQuery as (...args: unknown[]) => unknown).apply(this, [config, ...rest]);
  } as typeof realQuery;
  // And the protocol messages: what each Execute runs, and where each exchange ends.
  type Method = (this: ProtocolConnection, ...args: never[]) => unknown;
  const proto = Connection.prototype as unknown as Record<'parse' | 'bind' | 'execute' | 'sync' | 'query', Method>;
  const real = { parse: proto.parse, bind: proto.bind, execute: proto.execute, sync: proto.sync, query: proto.query };
  proto.parse = function (this: ProtocolConnection, message: { text: string; name?: string }) {
    if (!message.name) unnamed = message.text;
    return Reflect.apply(real.parse, this, [message]);
  };
  proto.bind = function (this: ProtocolConnection, message: { statement?: string }) {
    const name = message.statement;
    bound = name ? (this.parsedStatements[name] ?? this.submittedNamedStatements?.[name] ?? name) : unnamed;
    return Reflect.apply(real.bind, this, [message]);
  };
  proto.execute = function (this: ProtocolConnection, ...args: unknown[]) {
    current.push(bound);
    return Reflect.apply(real.execute, this, args);
  };
  proto.sync = function (this: ProtocolConnection, ...args: unknown[]) {
    exchanges.push(current);
    current = [];
    return Reflect.apply(real.sync, this, args);
  };
  proto.query = function (this: ProtocolConnection, text: unknown) {
    exchanges.push([String(text)]);
    return Reflect.apply(real.query, this, [text]);
  };
  try {
    return { result: await work(), sent, exchanges };
  } finally {
    Client.prototype.query = realQuery;
    Object.assign(proto, real);
  }
}
