import { dialectOf } from './sql-dialect';
import { statement } from './statement';

describe('SqlDialect.combineWrites', () => {
  const a = statement('INSERT INTO a (x, y) VALUES (?, ?)', [1, 2]);
  const b = statement('UPDATE b SET z = ? WHERE id = ?', [3, 4]);
  const c = statement('INSERT INTO c (w) VALUES (?) RETURNING id', [5]);

  it('on PostgreSQL puts all but the last in WITH, placeholders numbered in the order of the parameters', () => {
    const pg = dialectOf('postgres');
    const one = pg.combineWrites([a, b, c])!;
    expect(pg.text(one.sql)).toBe(
      'WITH w0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), w1 AS (UPDATE b SET z = $3 WHERE id = $4) ' +
        'INSERT INTO c (w) VALUES ($5) RETURNING id',
    );
    expect(one.params).toEqual([1, 2, 3, 4, 5]);
    expect(pg.combineWrites([c])).toBe(c);
  });

  it('on PostgreSQL declines past 65,535 parameters (the protocol counts them in 16 bits)', () => {
    const pg = dialectOf('postgres');
    const wide = (n: number) =>
      statement(
        'INSERT INTO t VALUES (?)',
        Array.from({ length: n }, (_, i) => i),
      );
    expect(pg.combineWrites([wide(30_000), wide(35_535)])).not.toBeNull();
    expect(pg.combineWrites([wide(30_000), wide(35_536)])).toBeNull();
  });

  it('on SQLite declines (no writes inside WITH), so the gateway runs them one by one', () => {
    expect(dialectOf('better-sqlite3').combineWrites([a, b, c])).toBeNull();
  });
});
