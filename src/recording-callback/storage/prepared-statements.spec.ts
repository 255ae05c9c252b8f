import { MAX_NAMED_PER_CONNECTION, MAX_NAMED_TEXT, StatementNamer } from './prepared-statements';

describe('StatementNamer', () => {
  it('names a text the same on every connection, and differently from another text', () => {
    const namer = new StatementNamer();
    const [a, b] = [{}, {}];
    const name = namer.nameFor(a, 'SELECT $1');
    expect(name).toMatch(/^rc_[0-9a-f]{24}$/);
    expect(namer.nameFor(a, 'SELECT $1')).toBe(name);
    expect(namer.nameFor(b, 'SELECT $1')).toBe(name);
    expect(namer.nameFor(a, 'SELECT $2')).not.toBe(name);
  });

  it('leaves long texts unnamed', () => {
    const namer = new StatementNamer();
    expect(namer.nameFor({}, 'x'.repeat(MAX_NAMED_TEXT))).toBeDefined();
    expect(namer.nameFor({}, 'x'.repeat(MAX_NAMED_TEXT + 1))).toBeUndefined();
  });

  it('names at most MAX_NAMED_PER_CONNECTION texts per connection, keeping those it named', () => {
    const namer = new StatementNamer();
    const connection = {};
    const names = Array.from({ length: MAX_NAMED_PER_CONNECTION }, (_, i) => namer.nameFor(connection, `SELECT ${i}`));
    expect(new Set(names).size).toBe(MAX_NAMED_PER_CONNECTION);
    expect(namer.nameFor(connection, 'SELECT -1')).toBeUndefined();
    expect(namer.nameFor(connection, 'SELECT 7')).toBe(names[7]);
    // Another connection has its own budget.
    expect(namer.nameFor({}, 'SELECT -1')).toBeDefined();
  });
});
