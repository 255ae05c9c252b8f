/**
 * Health checks of the recording-callback module for `@nestjs/terminus`, imported from
 * `<package>/health` so that apps without Terminus never load it.
 *
 * @example
 * import { RecordingHealthIndicator, RecordingHealthModule } from 'nest-huawei-live-recording-callback/health';
 */
export * from './recording-health.indicator';
export * from './recording-health.module';
