import { Body, Controller, HttpCode, Post, Type, UseFilters, UseGuards } from '@nestjs/common';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';
import { RecordingExceptionFilter } from '../errors/recording-exception.filter';
import { ApiReconcile } from '../openapi/api-docs.decorators';
import { OperationAccessGuard } from '../tasks/query-access.guard';
import { ReconcileService } from './reconcile.service';
import type { ReconcileSummary } from './reconcile.service';

/** Longest window a request may ask for: Huawei keeps its listing about 30 days. */
const MAX_SINCE_SECONDS = 30 * 86_400;

/**
 * Reads the route's body: `{ sinceSeconds?, dryRun? }` and nothing else.
 *
 * @example
 * readReconcileBody({ sinceSeconds: 3600 }); // { sinceSeconds: 3600, dryRun: false }
 */
export function readReconcileBody(body: unknown): { sinceSeconds?: number; dryRun: boolean } {
  const value = (body ?? {}) as Record<string, unknown>;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw InvalidFieldsException.field('body', 'the body must be a JSON object');
  }
  const problems: Record<string, string[]> = {};
  for (const key of Object.keys(value)) {
    if (key !== 'sinceSeconds' && key !== 'dryRun') problems[key] = [`${key} is not a field of this request`];
  }
  const { sinceSeconds, dryRun } = value;
  const since = sinceSeconds as number;
  if (sinceSeconds !== undefined && !(Number.isInteger(since) && since >= 60 && since <= MAX_SINCE_SECONDS)) {
    problems.sinceSeconds = [`sinceSeconds must be a whole number from 60 to ${MAX_SINCE_SECONDS}`];
  }
  if (dryRun !== undefined && typeof dryRun !== 'boolean') problems.dryRun = ['dryRun must be true or false'];
  if (Object.keys(problems).length) throw new InvalidFieldsException(problems, 'request');
  return { sinceSeconds: sinceSeconds as number | undefined, dryRun: dryRun === true };
}

/**
 * Creates the reconciliation controller (`POST <callbackPath>/reconcile`), guarded by
 * `operationGuards` (never open: 403 with none configured); 404 when reconciliation is not enabled,
 * 409 while another run holds the lease.
 *
 * @example
 * const Controller = createReconcileController('recording-callbacks/reconcile');
 */
export function createReconcileController(path: string): Type<unknown> {
  @Controller(path)
  @UseFilters(RecordingExceptionFilter)
  class ReconcileController {
    constructor(private readonly reconcile: ReconcileService) {}

    @Post()
    @UseGuards(OperationAccessGuard)
    @ApiReconcile()
    @HttpCode(200)
    run(@Body() body: unknown): Promise<ReconcileSummary> {
      this.reconcile.assertEnabled();
      return this.reconcile.run(readReconcileBody(body));
    }
  }
  return ReconcileController;
}
