import { RecordStartDto } from './dto/record-start.dto';
import { toDtoInstance } from './dto-instance';
import { parseRecordingCallback } from './parse-callback';

const start = {
  event_type: 'RECORD_START',
  task_id: 't1',
  publish_domain: 'push.example.com',
  app: 'live',
  stream: 's1',
  record_format: 'HLS',
};

describe('toDtoInstance', () => {
  it('copies the declared and unknown fields onto an instance of the class', () => {
    const dto = toDtoInstance(RecordStartDto, { ...start, future_field: { a: [1] } });
    expect(dto).toBeInstanceOf(RecordStartDto);
    expect(dto).toMatchObject({ ...start, future_field: { a: [1] } });
  });

  it('leaves out keys that would shadow the prototype, and never changes it', () => {
    const body = JSON.parse(
      '{"task_id":"t","__proto__":{"polluted":true},"constructor":{"x":1},"toString":"s","hasOwnProperty":3}',
    );
    const dto = toDtoInstance(RecordStartDto, body);
    expect(Object.getPrototypeOf(dto)).toBe(RecordStartDto.prototype);
    expect(dto.constructor).toBe(RecordStartDto);
    expect(Object.keys(dto)).not.toEqual(expect.arrayContaining(['__proto__']));
    expect(typeof dto.toString).toBe('function');
    expect((dto as unknown as { polluted?: boolean }).polluted).toBeUndefined();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('parseRecordingCallback with constructor keys (class-transformer threw on them)', () => {
  it.each([
    ['extra: { constructor: {} }', { extra: { constructor: {} } }],
    ['extra: [{ constructor: 1 }]', { extra: [{ constructor: 1 }] }],
    ['prototype.constructor', { prototype: { constructor: { name: 'Object' } } }],
  ])('accepts %s as an unknown field', (_label, over) => {
    const result = parseRecordingCallback({ ...start, ...over });
    expect(result.ok).toBe(true);
  });

  it.each(['task_id', 'file_size', 'record_duration', 'project_id'])(
    'refuses %s: { constructor: 1 } naming it',
    (field) => {
      const result = parseRecordingCallback({ ...start, [field]: { constructor: 1 } });
      expect(result.ok).toBe(false);
      expect(Object.keys((result as { fields: object }).fields)).toEqual([field]);
    },
  );
});
