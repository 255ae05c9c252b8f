import { decodeTaskCursor, encodeTaskCursor } from './task-cursor';

const raw = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('task cursor', () => {
  it('decodes what it encodes', () => {
    const cursor = { createdAt: new Date('2026-12-01T10:00:00.123Z'), taskId: 't-1' };
    expect(decodeTaskCursor(encodeTaskCursor(cursor))).toEqual(cursor);
  });

  it.each([
    ['a date before 4713 BC, which PostgreSQL refuses', raw(['-271821-04-20T00:00:00.000Z', 'x'])],
    ['a date before 1970', raw(['1969-12-31T23:59:59.999Z', 'x'])],
    ['a date after 9999', raw(['+010000-01-01T00:00:00.000Z', 'x'])],
    ['a date not in toISOString form', raw(['2026-12-01', 'x'])],
    ['a task id longer than 256 characters', raw(['2026-12-01T10:00:00.000Z', 'x'.repeat(257)])],
    ['a task id with a NUL', raw(['2026-12-01T10:00:00.000Z', 'a\u0000'])],
    ['three items', raw(['2026-12-01T10:00:00.000Z', 'x', 1])],
    ['not JSON', Buffer.from('{').toString('base64url')],
  ])('refuses %s', (_label, text) => {
    expect(decodeTaskCursor(text)).toBeUndefined();
  });

  it('counts the task id in characters, as the column does', () => {
    expect(decodeTaskCursor(raw(['2026-12-01T10:00:00.000Z', '\u{1F600}'.repeat(256)]))?.taskId).toHaveLength(512);
  });
});
