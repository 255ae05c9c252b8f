import { ValidationTypes, getMetadataStorage, validateSync } from 'class-validator';
import type { ValidationArguments, ValidationError, ValidatorConstraintInterface } from 'class-validator';

/** Invalid fields of a DTO instance: each property with its messages, as class-validator words them. */
export type InvalidFields = Record<string, string[]>;

/** One check of a property: a class-validator constraint with its decorator's arguments. */
interface CompiledCheck {
  /** The key class-validator gives the error (`isString`, `maxChars`, …). */
  type: string;
  constraint: ValidatorConstraintInterface;
  constraints: unknown[] | undefined;
  message: string | ((args: ValidationArguments) => string) | undefined;
}

/** The checks of one property, in the order class-validator runs them. */
interface CompiledProperty {
  name: string;
  /** `@IsOptional()` and other conditions: the checks run only when all of them hold. */
  conditions: Array<(object: object, value: unknown) => boolean>;
  checks: CompiledCheck[];
}

const OPTIONS = { forbidUnknownValues: false, validationError: { target: false, value: false } };
/** A compiled plan per DTO class; `null` for a class that uses a feature compiled here does not cover. */
const plans = new WeakMap<object, CompiledProperty[] | null>();

function flatten(errors: ValidationError[], prefix = '', out: InvalidFields = {}): InvalidFields {
  for (const error of errors) {
    const path = prefix + error.property;
    if (error.constraints) out[path] = Object.values(error.constraints);
    if (error.children?.length) flatten(error.children, `${path}.`, out);
  }
  return out;
}

/**
 * Reads class-validator's metadata of a class once. Only what the DTOs use is compiled: conditions
 * (`@IsOptional`) and synchronous constraints on single values. Nested validation, `each`, `validateIf`,
 * contexts or async constraints make the plan `null`, and that class is validated by `validateSync`.
 */
function compile(target: object): CompiledProperty[] | null {
  const storage = getMetadataStorage();
  const grouped = storage.groupByPropertyName(
    storage.getTargetValidationMetadatas(target as () => void, '', true, false),
  );
  const plan: CompiledProperty[] = [];
  for (const [name, metadatas] of Object.entries(grouped)) {
    const property: CompiledProperty = { name, conditions: [], checks: [] };
    for (const m of metadatas) {
      if (m.each || m.validateIf || m.context) return null;
      if (m.type === ValidationTypes.CONDITIONAL_VALIDATION) {
        property.conditions.push(m.constraints[0] as CompiledProperty['conditions'][number]);
      } else if (m.type === ValidationTypes.CUSTOM_VALIDATION) {
        for (const c of storage.getTargetValidatorConstraints(m.constraintCls)) {
          if (c.async) return null;
          property.checks.push({
            type: c.name || m.type,
            constraint: c.instance,
            constraints: m.constraints,
            message: m.message,
          });
        }
      } else {
        return null;
      }
    }
    plan.push(property);
  }
  return plan;
}

/** `$constraintN`, `$value`, `$property` and `$target` in a message, replaced as class-validator does. */
function render(check: CompiledCheck, args: ValidationArguments): string {
  const template = check.message || check.constraint.defaultMessage?.(args) || '';
  let text = typeof template === 'function' ? template(args) : template;
  if (!text) return text;
  (check.constraints ?? []).forEach((constraint, i) => {
    const shown = Array.isArray(constraint)
      ? constraint.join(', ')
      : typeof constraint === 'symbol'
        ? String(constraint.description)
        : `${constraint}`;
    text = text.replace(new RegExp(`\\$constraint${i + 1}`, 'g'), shown);
  });
  const value = args.value as unknown;
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
    text = text.replace(/\$value/g, String(value));
  }
  return text.replace(/\$property/g, args.property).replace(/\$target/g, args.targetName);
}

/**
 * Validates a DTO instance with the checks its class-validator decorators declare, compiled once per
 * class instead of read from class-validator's metadata storage on every call (that walk was most of
 * the cost of a callback's validation). Same checks, same order, same messages as `validateSync` with
 * `forbidUnknownValues: false`; the decorators stay the single source of truth.
 *
 * @example
 * const fields = validateDto(plainToInstance(RecordStartDto, body)); // {} when valid
 */
export function validateDto(dto: object): InvalidFields {
  const target = dto.constructor;
  let plan = plans.get(target);
  if (plan === undefined) {
    plan = compile(target);
    plans.set(target, plan);
  }
  if (plan === null) return flatten(validateSync(dto, OPTIONS));
  const out: InvalidFields = {};
  for (const property of plan) {
    const value = (dto as Record<string, unknown>)[property.name];
    if (!property.conditions.every((condition) => condition(dto, value))) continue;
    let failed: Record<string, string> | undefined;
    for (const check of property.checks) {
      const args: ValidationArguments = {
        targetName: target.name,
        property: property.name,
        object: dto,
        value,
        constraints: check.constraints as unknown[],
      };
      if (check.constraint.validate(value, args)) continue;
      // Keyed by type, as class-validator does: a second failure of the same type replaces the first.
      (failed ??= {})[check.type] = render(check, args);
    }
    if (failed) out[property.name] = Object.values(failed);
  }
  return out;
}
