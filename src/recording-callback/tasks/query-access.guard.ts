import { CanActivate, ExecutionContext, ForbiddenException, Injectable, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';

type GuardOption = Type<CanActivate> | CanActivate;

/** Runs a list of app guards in order; classes come from the app's container when provided there. */
@Injectable()
abstract class AppGuardsRunner implements CanActivate {
  private resolved?: Promise<CanActivate[]>;

  constructor(
    @InjectRecordingCallbackOptions() protected readonly options: ResolvedRecordingCallbackOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  protected abstract guards(): GuardOption[];

  async canActivate(context: ExecutionContext): Promise<boolean> {
    this.resolved ??= Promise.all(this.guards().map((g) => this.resolve(g)));
    // A failed resolution is not kept: the next request tries again.
    const guards = await this.resolved.catch((error: unknown) => {
      this.resolved = undefined;
      throw error;
    });
    for (const guard of guards) {
      const allowed = await Promise.resolve(guard.canActivate(context));
      if (!allowed) return false;
    }
    return true;
  }

  private async resolve(guard: GuardOption): Promise<CanActivate> {
    if (typeof guard !== 'function') return guard;
    try {
      return this.moduleRef.get(guard, { strict: false });
    } catch {
      return this.moduleRef.create(guard);
    }
  }
}

/**
 * Runs the guards the app supplied in `queryGuards`, in order, before the query routes. Guard classes
 * are resolved from the app's container when provided there, else instantiated with their dependencies.
 *
 * @example
 * RecordingCallbackModule.forRoot({ auth, queryGuards: [AuthGuard('jwt')] })
 */
@Injectable()
export class QueryAccessGuard extends AppGuardsRunner {
  protected guards(): GuardOption[] {
    return this.options.queryGuards;
  }
}

/**
 * Runs `operationGuards` (default: `queryGuards`) before the routes that change state. With no guard
 * configured these routes answer 403: re-running the app's handlers must never be open to anyone.
 *
 * @example
 * RecordingCallbackModule.forRoot({ auth, operationGuards: [AdminGuard] })
 */
@Injectable()
export class OperationAccessGuard extends AppGuardsRunner {
  protected guards(): GuardOption[] {
    return this.options.operationGuards;
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.options.operationGuards.length === 0) {
      throw new ForbiddenException({
        statusCode: 403,
        error: 'Forbidden',
        message: 'this operation needs a guard: configure operationGuards (or queryGuards) of RecordingCallbackModule',
      });
    }
    return super.canActivate(context);
  }
}
