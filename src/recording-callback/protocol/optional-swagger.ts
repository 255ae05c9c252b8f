import type * as Swagger from '@nestjs/swagger';
import type { ApiPropertyOptions } from '@nestjs/swagger';

// @nestjs/swagger is an optional peer: apps that serve no OpenAPI document need not install it, and
// then these decorators do nothing. When it is installed they apply its own decorators, so the
// document still has every model and route. The CommonJS build loads it at once with require(); the
// ES module build cannot load a module synchronously, so it imports it and applies the decorators
// recorded meanwhile, in the order they were declared; the module waits for that (whenSwaggerLoaded)
// before the app is up, long before SwaggerModule.createDocument reads them.

/** The @nestjs/swagger module namespace. */
export type SwaggerApi = typeof Swagger;

type AnyDecorator = (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => unknown;

/** `undefined` while loading; `null` when @nestjs/swagger is not installed. */
let swagger: SwaggerApi | null | undefined;
const pending: Array<(api: SwaggerApi) => void> = [];

function isMissing(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes('@nestjs/swagger')
  );
}

function settle(api: SwaggerApi | null): void {
  swagger = api;
  const queued = pending.splice(0);
  if (api) for (const apply of queued) apply(api);
}

/** Synchronous load where `require` exists (the CommonJS build); `undefined` means "import it instead". */
function requireSwagger(): SwaggerApi | null | undefined {
  if (typeof require !== 'function') return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@nestjs/swagger') as SwaggerApi;
  } catch (error) {
    // ERR_REQUIRE_ESM (an ESM-only @nestjs/swagger where require() of ESM is not allowed) falls through to import().
    return isMissing(error) ? null : undefined;
  }
}

const loaded: Promise<void> = (() => {
  const now = requireSwagger();
  if (now !== undefined) {
    settle(now);
    return Promise.resolve();
  }
  return import('@nestjs/swagger').then(
    (api) => settle(api),
    (error: unknown) => {
      settle(null);
      if (!isMissing(error)) throw error;
    },
  );
})();
// Nobody may await it (an app that only uses the DTOs): a load failure is reported by whenSwaggerLoaded.
loaded.catch(() => undefined);

/**
 * Resolves once @nestjs/swagger's decorators are applied (or known to be absent); rejects when
 * @nestjs/swagger is installed but fails to load.
 *
 * @example
 * { provide: OPENAPI_DECORATORS_APPLIED, useFactory: () => whenSwaggerLoaded() }
 */
export function whenSwaggerLoaded(): Promise<void> {
  return loaded;
}

/**
 * A decorator that applies the one `make` builds from @nestjs/swagger, now or once it is loaded;
 * nothing when @nestjs/swagger is not installed.
 *
 * @example
 * export const ApiDocs = () => withSwagger((s) => s.ApiTags('Recording tasks'));
 */
export function withSwagger<D>(make: (api: SwaggerApi) => D): D {
  const decorator: AnyDecorator = (target, key, descriptor) => {
    const apply = (api: SwaggerApi) => (make(api) as AnyDecorator)(target, key, descriptor);
    if (swagger) apply(swagger);
    else if (swagger === undefined) pending.push(apply);
  };
  return decorator as D;
}

/**
 * `@ApiProperty` of @nestjs/swagger when it is installed.
 *
 * @example
 * class Dto { @ApiProperty({ example: 'live' }) app: string; }
 */
export function ApiProperty(options?: ApiPropertyOptions): PropertyDecorator {
  return withSwagger((api) => api.ApiProperty(options));
}

/**
 * `@ApiPropertyOptional` of @nestjs/swagger when it is installed.
 *
 * @example
 * class Dto { @ApiPropertyOptional({ example: 'https://…' }) play_url?: string; }
 */
export function ApiPropertyOptional(options?: ApiPropertyOptions): PropertyDecorator {
  return withSwagger((api) => api.ApiPropertyOptional(options));
}
