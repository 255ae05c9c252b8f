import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { HOST_CONFIG } from './host-config.token';
import type { HostConfig } from './host-config';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The host app's guard for the query routes: when `RECORDING_QUERY_TOKEN` is set, requests need
 * `Authorization: Bearer <token>` (compared in constant time). Unset, the routes are open.
 *
 * @example
 * RecordingCallbackModule.forRootAsync({ ..., useFactory: () => ({ auth, queryGuards: [BearerTokenGuard] }) })
 */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  constructor(@Inject(HOST_CONFIG) private readonly config: HostConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.queryToken;
    if (!expected) return true;
    const header: unknown = context.switchToHttp().getRequest().headers?.authorization;
    const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
    // Hash both sides so the comparison is constant-time whatever the lengths.
    if (given && timingSafeEqual(digest(given), digest(expected))) return true;
    throw new UnauthorizedException({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'send Authorization: Bearer <RECORDING_QUERY_TOKEN>',
    });
  }
}
