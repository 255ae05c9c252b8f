import { BadRequestException } from '@nestjs/common';
import { RECORDING_EVENT_TYPES } from '../protocol/recording-event-type';
import { MAX_JSON_DEPTH } from '../protocol/json-depth';
import { CallbackBodyPipe } from './callback-body.pipe';
import { CALLBACK_FIELDS, HOSTILE_JSON_VALUES } from '../../../test/fixtures/hostile-json-values';

const FIELDS = [...CALLBACK_FIELDS, 'future_field'];

function base(eventType: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    event_type: eventType,
    project_id: 'p',
    task_id: 't1',
    publish_domain: 'push.example.com',
    app: 'live',
    stream: 's1',
    record_format: 'HLS',
  };
  if (eventType !== 'RECORD_START' && eventType !== 'RECORD_OVER' && eventType !== 'RECORD_FAILED') body.job_id = 'j1';
  if (eventType === 'RECORD_FILE_COMPLETE') body.download_url = 'https://obs.example.com/a.m3u8';
  return body;
}

/** 'ok' or the invalid field names of a 400; any other error fails the test. */
function outcome(value: unknown): string {
  try {
    new CallbackBodyPipe().transform(value);
    return 'ok';
  } catch (error) {
    if (!(error instanceof BadRequestException)) throw error;
    const response = error.getResponse() as { fields: Record<string, string[]> };
    return Object.keys(response.fields).join(',');
  }
}

describe('CallbackBodyPipe', () => {
  it.each(RECORDING_EVENT_TYPES)('accepts a valid %s', (eventType) => {
    expect(outcome(base(eventType))).toBe('ok');
  });

  describe.each(RECORDING_EVENT_TYPES)('%s', (eventType) => {
    describe.each(FIELDS)('%s of every JSON type', (field) => {
      it.each(HOSTILE_JSON_VALUES)('%s: valid or a 400 naming fields, never another error', (_label, value) => {
        const result = outcome({ ...base(eventType), [field]: value });
        expect(result === 'ok' || /^[\w.[\],]+$/.test(result)).toBe(true);
        // Text identifiers take only text.
        if (['task_id', 'publish_domain', 'app', 'stream'].includes(field) && typeof value !== 'string') {
          expect(result.split(',')).toContain(field);
        }
      });
    });
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels before any recursive walk`, () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 20_000; i++) deep = i % 2 ? [deep] : { d: deep };
    expect(outcome({ ...base('RECORD_START'), extra: deep })).toBe('body');
    // The deepest accepted nesting still passes: the body is depth 1, so the extra field may nest 31 more.
    let ok: unknown = {};
    for (let i = 0; i < MAX_JSON_DEPTH - 2; i++) ok = [ok];
    expect(outcome({ ...base('RECORD_START'), extra: ok })).toBe('ok');
    expect(outcome({ ...base('RECORD_START'), extra: [ok] })).toBe('body');
  });

  it('counts lengths as PostgreSQL does (code points), not as class-validator does', () => {
    // class-validator's MaxLength counted "a\uFE0F" as one character; PostgreSQL counts two.
    expect(outcome({ ...base('RECORD_START'), task_id: 'a\uFE0F'.repeat(128) })).toBe('ok');
    expect(outcome({ ...base('RECORD_START'), task_id: 'a\uFE0F'.repeat(129) })).toBe('task_id');
    expect(outcome({ ...base('RECORD_START'), app: '\u{1F600}'.repeat(256) })).toBe('ok');
    expect(outcome({ ...base('RECORD_START'), app: '\u{1F600}'.repeat(257) })).toBe('app');
  });

  it('bounds what a 400 echoes: at most 20 fields, paths cut', () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`${i}${'k'.repeat(300)}\u0000`, 'x']));
    try {
      new CallbackBodyPipe().transform({ ...base('RECORD_START'), ...many });
      throw new Error('not refused');
    } catch (error) {
      const response = (error as BadRequestException).getResponse() as { message: string; fields: object };
      expect(Object.keys(response.fields)).toHaveLength(20);
      expect(Math.max(...Object.keys(response.fields).map((k) => k.length))).toBeLessThanOrEqual(201);
      expect(response.message).toMatch(/and 480 more$/);
    }
  });
});
