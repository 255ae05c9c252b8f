import { ConfigurableModuleBuilder, Inject } from '@nestjs/common';
import type { RecordingCallbackModuleOptions } from './recording-callback.options';

/**
 * Route settings that must be known when the module is defined (before async options resolve).
 *
 * @example
 * RecordingCallbackModule.forRootAsync({ useFactory, callbackPath: 'hooks/huawei-recording' })
 */
export interface RecordingCallbackRouteExtras {
  /** Path of the callback route (default `recording-callbacks`). */
  callbackPath: string;
  /** Path of the task query routes (default `recording-tasks`). */
  tasksPath: string;
}

/** Route paths used when the app sets none. */
export const DEFAULT_ROUTES: RecordingCallbackRouteExtras = {
  callbackPath: 'recording-callbacks',
  tasksPath: 'recording-tasks',
};

export const {
  ConfigurableModuleClass: RecordingCallbackConfigurableModule,
  MODULE_OPTIONS_TOKEN: RECORDING_CALLBACK_RAW_OPTIONS,
  OPTIONS_TYPE: RECORDING_CALLBACK_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: RECORDING_CALLBACK_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RecordingCallbackModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<RecordingCallbackRouteExtras>(DEFAULT_ROUTES, (definition) => definition)
  .build();

/** Injection token of the validated options with defaults applied. */
export const RECORDING_CALLBACK_OPTIONS = Symbol('RECORDING_CALLBACK_OPTIONS');

/**
 * Injects the validated {@link ResolvedRecordingCallbackOptions}.
 *
 * @example
 * constructor(@InjectRecordingCallbackOptions() options: ResolvedRecordingCallbackOptions) {}
 */
export const InjectRecordingCallbackOptions = (): ParameterDecorator => Inject(RECORDING_CALLBACK_OPTIONS);
