import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { RecordingMetrics } from '../recording-callback/metrics';
import { BearerTokenGuard } from './bearer-token.guard';

/**
 * `GET /metrics`: Prometheus text format. Needs the query token when `RECORDING_QUERY_TOKEN` is set
 * (Prometheus: `authorization: { credentials: <token> }`). Off with `RECORDING_METRICS=off`.
 *
 * @example
 * curl -s localhost:3000/metrics | grep recording_callbacks_total
 */
@ApiTags('Operations')
@Controller('metrics')
@UseGuards(BearerTokenGuard)
export class MetricsController {
  constructor(private readonly metrics: RecordingMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Prometheus metrics' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format', schema: { type: 'string' } })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
