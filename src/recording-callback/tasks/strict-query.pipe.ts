import { ArgumentMetadata, Injectable, PipeTransform, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';

const validation = new ValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  exceptionFactory: (errors) =>
    new InvalidFieldsException(
      Object.fromEntries(errors.map((e) => [e.property, Object.values(e.constraints ?? {})])),
      'query',
    ),
});

/** Parameter names a query class declares, read once per class from its class-validator decorators. */
const declared = new WeakMap<object, Set<string>>();
function parametersOf(metatype: ArgumentMetadata['metatype']): Set<string> | undefined {
  if (!metatype) return undefined;
  let names = declared.get(metatype);
  if (!names) {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(metatype, '', true, false);
    names = new Set(metadata.map((m) => m.propertyName));
    declared.set(metatype, names);
  }
  return names;
}

/**
 * Validation for query strings: converts and checks parameters, refuses unknown ones, and answers 400
 * with the fields at fault. Unknown names are found on the raw query's own keys, before
 * class-transformer runs: it drops names such as `constructor` or `__proto__`, which would then pass.
 *
 * @example
 * list(@Query(StrictQueryPipe) query: ListTasksQuery) {}
 */
@Injectable()
export class StrictQueryPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const known = parametersOf(metadata.metatype);
    if (known && value !== null && typeof value === 'object') {
      const unknown = Object.keys(value).filter((k) => !known.has(k));
      if (unknown.length) {
        throw new InvalidFieldsException(
          Object.fromEntries(unknown.map((k) => [k, [`property ${k} should not exist`]])),
          'query',
        );
      }
    }
    // A class that declares no parameter (NoQueryParameters) has nothing left to validate.
    if (known?.size === 0) return {};
    return validation.transform(value, metadata);
  }
}

/**
 * A shared {@link StrictQueryPipe}.
 *
 * @example
 * list(@Query(strictQueryPipe) query: ListTasksQuery) {}
 */
export const strictQueryPipe = new StrictQueryPipe();
