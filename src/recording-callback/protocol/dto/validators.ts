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
