import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ApiPropertyOptional } from '../protocol/optional-swagger';
import { IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { MaxChars } from '../protocol/dto/validators';
import { STORABLE_TEXT } from '../protocol/storable-text';

/**
 * An optional text filter of a list query: non-empty, at most 256 characters, and storable (no NUL,
 * no unpaired surrogate, which PostgreSQL would refuse with an error instead of finding nothing).
 *
 * @example
 * class Query { @TextFilter('Only tasks of this app', 'live') app?: string; }
 */
export function TextFilter(description: string, example: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ description, maxLength: 256, example }),
    IsOptional(),
    IsString(),
    IsNotEmpty(),
    MaxChars(256),
    Matches(STORABLE_TEXT, { message: '$property must not contain NUL characters or unpaired surrogates' }),
  );
}

/**
 * Page size of a list query: 1..100, default 20.
 *
 * @example
 * class ListThingsQuery extends PageQuery { ... }
 */
export abstract class PageQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Page size' })
  @IsOptional()
  // Decimal digits only: Number() would also take '0x10', '1e2', '+5' or ' 5'.
  @Transform(({ value }) => (typeof value === 'string' ? (/^\d{1,6}$/.test(value) ? Number(value) : NaN) : value))
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

/**
 * The query of a route that takes no parameters: with the strict query pipe, any parameter is a 400.
 *
 * @example
 * get(@Param('taskId') id: string, @Query(strictQueryPipe) _query: NoQueryParameters) {}
 */
export class NoQueryParameters {}
