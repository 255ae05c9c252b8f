import { CanActivate, ExecutionContext, Injectable, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';

/**
 * Runs the guards the app supplied in `queryGuards`, in order, before the query routes. Guard classes
 * are resolved from the app's container when provided there, else instantiated with their dependencies.
 *
 * @example
 * RecordingCallbackModule.forRoot({ auth, queryGuards: [AuthGuard('jwt')] })
 */
@Injectable()
export class QueryAccessGuard implements CanActivate {
  private resolved?: Promise<CanActivate[]>;

  constructor(
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    this.resolved ??= Promise.all(this.options.queryGuards.map((g) => this.resolve(g)));
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

  private async resolve(guard: Type<CanActivate> | CanActivate): Promise<CanActivate> {
    if (typeof guard !== 'function') return guard;
    try {
      return this.moduleRef.get(guard, { strict: false });
    } catch {
      return this.moduleRef.create(guard);
    }
  }
}
