import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { RecordingHealthIndicator } from '../recording-callback/health';

/**
 * `GET /health`: 200 when the database answers and the delivery backlog and dead letters are under their
 * thresholds (status `degraded`, still 200, when no callback came for `RECORDING_HEALTH_MAX_SILENCE_SECONDS`);
 * 503 otherwise. Open to probes, without the query token.
 *
 * @example
 * curl -s localhost:3000/health | jq .status
 */
@ApiTags('Operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly recording: RecordingHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check(this.recording.checks());
  }
}
