import { logLine, logText } from './log-line';

describe('logLine', () => {
  it('keeps a forged line, ANSI escapes and C1 controls inside one escaped JSON line', () => {
    const taskId =
      'a\n[Nest] 1  - 01/01/2026, 00:00:00     LOG [RecordingCallback] forged\r\u001b[31mred\u009b2J\u2028x\u0085';
    const line = logLine({ msg: 'x', taskId });
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(line.split('\n')).toHaveLength(1);
    expect(JSON.parse(line)).toEqual({ msg: 'x', taskId });
  });
});

describe('logText', () => {
  it('escapes and cuts untrusted text', () => {
    expect(logText('a\nb"c')).toBe('a\\nb\\"c');
    expect(logText('\u001b[2J')).toBe('\\u001b[2J');
    expect(logText('x'.repeat(400), 10)).toBe(`${'x'.repeat(10)}…`);
    expect(logText(42)).toBe('42');
  });
});
