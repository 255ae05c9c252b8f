import { placeholders, valueRows } from './statement';

describe('placeholder texts', () => {
  it('placeholders(n) lists n question marks, the same text each time', () => {
    expect(placeholders(1)).toBe('?');
    expect(placeholders(3)).toBe('?, ?, ?');
    expect(placeholders(3)).toBe('?, ?, ?');
    expect(placeholders(1500).split(', ')).toHaveLength(1500);
  });

  it('valueRows(count, width) lists count rows of width placeholders, per width', () => {
    expect(valueRows(2, 3)).toBe('(?, ?, ?), (?, ?, ?)');
    expect(valueRows(2, 2)).toBe('(?, ?), (?, ?)');
    expect(valueRows(1, 3)).toBe('(?, ?, ?)');
    expect(valueRows(2, 3)).toBe('(?, ?, ?), (?, ?, ?)');
    expect(valueRows(1001, 1).split(', ')).toHaveLength(1001);
  });
});
