/**
 * Prometheus metrics of the recording-callback module, imported from `<package>/metrics` so that apps
 * without `prom-client` never load it.
 *
 * @example
 * import { RecordingMetrics, RecordingMetricsModule } from 'nest-huawei-live-recording-callback/metrics';
 */
export * from './recording-metrics';
export * from './recording-metrics.module';
