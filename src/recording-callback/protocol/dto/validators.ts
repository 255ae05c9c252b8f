import { ValidationOptions, registerDecorator } from 'class-validator';

const HUAWEI_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/**
 * True for a real UTC instant written as Huawei does: `yyyy-mm-ddThh:mm:ssZ`.
 *
 * @example
 * isHuaweiTime('2020-03-08T14:10:25Z'); // true
 * isHuaweiTime('2020-02-30T14:10:25Z'); // false: no such day
 */
export function isHuaweiTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = HUAWEI_TIME.exec(value);
  if (!m) return false;
  const date = new Date(value);
  // Date rolls 30 Feb over into March; compare back to catch impossible dates.
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 19) + 'Z' === value;
}

/**
 * Property decorator: the value is a Huawei timestamp `yyyy-mm-ddThh:mm:ssZ`.
 *
 * @example
 * class Dto { @IsHuaweiTime() start_time?: string; }
 */
export function IsHuaweiTime(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isHuaweiTime',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be a UTC time written yyyy-mm-ddThh:mm:ssZ', ...options },
      validator: { validate: (value: unknown) => isHuaweiTime(value) },
    });
}

/**
 * Length of a text as the database columns count it: in characters (Unicode code points), as
 * PostgreSQL's `varchar(n)` does. class-validator's `MaxLength` counts differently (it leaves out
 * variation selectors, so `"a\uFE0F"` counts as one), which let values through that PostgreSQL refused.
 *
 * @example
 * codePointLength('😀'); // 1 (two UTF-16 units)
 */
export function codePointLength(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    length++;
  }
  return length;
}

/**
 * Property decorator: a string of at most `max` characters, counted as the database counts them (see
 * {@link codePointLength}). Its message is class-validator's `MaxLength` message, so 400 bodies read the same.
 *
 * @example
 * class Dto { @IsString() @MaxChars(256) task_id!: string; }
 */
export function MaxChars(max: number, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'maxChars',
      target: target.constructor,
      propertyName: propertyName as string,
      constraints: [max],
      options: { message: `$property must be shorter than or equal to ${max} characters`, ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && codePointLength(value) <= max },
    });
}
