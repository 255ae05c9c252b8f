import { plainToInstance } from 'class-transformer';
import { IsDefined, IsString, ValidateNested, validateSync } from 'class-validator';
import type { ValidationError } from 'class-validator';
import fc from 'fast-check';
import { CALLBACK_FIELDS } from '../../../test/fixtures/hostile-json-values';
import { validateDto } from './compiled-validation';
import { DTO_BY_EVENT_TYPE } from './dto/recording-callback.dto';
import { RECORDING_EVENT_TYPES } from './recording-event-type';

/** class-validator's own answer, flattened the way the module reports it. */
function reference(dto: object): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const walk = (errors: ValidationError[], prefix: string) => {
    for (const e of errors) {
      if (e.constraints) out[prefix + e.property] = Object.values(e.constraints);
      if (e.children?.length) walk(e.children, `${prefix}${e.property}.`);
    }
  };
  walk(validateSync(dto, { forbidUnknownValues: false, validationError: { target: false, value: false } }), '');
  return out;
}

/** Values near and across every rule the DTOs declare, and values of every JSON type. */
const value = fc.oneof(
  fc.constantFrom(
    'RECORD_START',
    'RECORD_FILE_COMPLETE',
    'HLS',
    'MP4',
    'FLV',
    'WAV',
    '',
    'https://obs.example.com/a.m3u8',
    'ftp://obs.example.com/a',
    'not a url',
    '2020-03-08T14:10:25Z',
    '2020-02-30T14:10:25Z',
    'a\uFE0F'.repeat(128),
    'a\uFE0F'.repeat(129),
    'x'.repeat(256),
    'x'.repeat(257),
    `https://h/${'x'.repeat(2040)}`,
    0,
    -1,
    1.5,
    2_147_483_647,
    2_147_483_648,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    null,
    true,
    [],
    ['a'],
    {},
    { toString: 1 },
  ),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
);

const body = fc.record(Object.fromEntries(CALLBACK_FIELDS.map((f) => [f, value])) as Record<string, typeof value>, {
  requiredKeys: [],
});

describe('validateDto', () => {
  it.each(RECORDING_EVENT_TYPES)('answers exactly as class-validator for %s, over generated bodies', (eventType) => {
    const Dto = DTO_BY_EVENT_TYPE[eventType];
    fc.assert(
      fc.property(body, (b) => {
        const dto = plainToInstance(Dto, { ...b }) as object;
        expect(validateDto(dto)).toEqual(reference(dto));
      }),
      { numRuns: 1500 },
    );
  });

  it('finds the invalid fields of a concrete body, with class-validator messages', () => {
    const dto = plainToInstance(DTO_BY_EVENT_TYPE.RECORD_FILE_COMPLETE, {
      event_type: 'RECORD_FILE_COMPLETE',
      task_id: 't',
      publish_domain: 'd',
      app: 'a',
      stream: 's',
      record_format: 'HLS',
      job_id: 'j',
      download_url: 'ftp://x/y',
      width: -1,
    }) as object;
    expect(validateDto(dto)).toEqual({
      download_url: ['download_url must be a URL address'],
      width: ['width must not be less than 0'],
    });
  });

  it('falls back to validateSync for a class with nested validation', () => {
    class Inner {
      @IsString()
      name!: string;
    }
    class Outer {
      @IsDefined()
      @ValidateNested()
      inner!: Inner;
    }
    const dto = plainToInstance(Outer, { inner: { name: 5 } });
    dto.inner = plainToInstance(Inner, { name: 5 });
    expect(validateDto(dto)).toEqual({ 'inner.name': ['name must be a string'] });
  });
});
