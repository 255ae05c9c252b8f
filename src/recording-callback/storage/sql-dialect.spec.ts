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

describe('SqlDialect.combineWithReads', () => {
  const write = statement('INSERT INTO a (x) VALUES (?), (?) RETURNING id', [1, 2]);
  const reads = [
    statement('SELECT id FROM a WHERE x IN (?, ?)', [3, 4]),
    statement('SELECT y FROM b WHERE z = ?', [5]),
  ];

  it('on PostgreSQL writes in WITH and aggregates each part into a JSON column of one row', () => {
    const pg = dialectOf('postgres');
    const one = pg.combineWithReads(write, reads)!;
    expect(pg.text(one.sql)).toBe(
      'WITH w AS (INSERT INTO a (x) VALUES ($1), ($2) RETURNING id) SELECT ' +
        "(SELECT coalesce(json_agg(w), '[]') FROM w) AS r0, " +
        "(SELECT coalesce(json_agg(q), '[]') FROM (SELECT id FROM a WHERE x IN ($3, $4)) q) AS r1, " +
        "(SELECT coalesce(json_agg(q), '[]') FROM (SELECT y FROM b WHERE z = $5) q) AS r2",
    );
    expect(one.params).toEqual([1, 2, 3, 4, 5]);
  });

  it('on PostgreSQL declines past 65,535 parameters', () => {
    const pg = dialectOf('postgres');
    const wide = statement(
      'SELECT 1 WHERE 1 IN (?)',
      Array.from({ length: 65_534 }, (_, i) => i),
    );
    expect(pg.combineWithReads(write, [wide])).toBeNull();
    expect(pg.combineWithReads(statement('SELECT ?', [1]), [wide])).not.toBeNull();
  });

  it('on SQLite declines: the caller runs the write alone', () => {
    expect(dialectOf('better-sqlite3').combineWithReads(write, reads)).toBeNull();
  });
});

describe('SqlDialect.text', () => {
  it('on PostgreSQL numbers every ? in order, wherever it stands, and leaves a text without one as it is', () => {
    const { text } = dialectOf('postgres');
    expect(text('?')).toBe('$1');
    expect(text('SELECT ?,?, ? FROM t WHERE a = ?')).toBe('SELECT $1,$2, $3 FROM t WHERE a = $4');
    expect(text('VALUES (?, ?), (?, ?)')).toBe('VALUES ($1, $2), ($3, $4)');
    // Numbering starts again for each text.
    expect(text('VALUES (?, ?), (?, ?)')).toBe('VALUES ($1, $2), ($3, $4)');
    expect(text('SELECT 1')).toBe('SELECT 1');
    const many = Array.from({ length: 1200 }, () => '?').join(',');
    expect(text(many)).toBe(Array.from({ length: 1200 }, (_, i) => `$${i + 1}`).join(','));
  });

  it('on SQLite keeps the text', () => {
    expect(dialectOf('better-sqlite3').text('SELECT ? FROM t')).toBe('SELECT ? FROM t');
  });
});

describe('SqlDialect.time', () => {
  it('on SQLite writes the UTC text TypeORM writes, for each distinct time', () => {
    const { time } = dialectOf('better-sqlite3');
    expect(time(new Date('2026-12-06T04:30:00.123Z'))).toBe('2026-12-06 04:30:00.123');
    expect(time(new Date('2026-12-06T04:30:00.123Z'))).toBe('2026-12-06 04:30:00.123');
    expect(time(new Date('2026-12-06T04:30:00.124Z'))).toBe('2026-12-06 04:30:00.124');
    expect(time(null)).toBeNull();
    expect(() => time(new Date(NaN))).toThrow(RangeError);
  });
});
