// The public API: what an app imports. Internal parts (the delivery scheduler and runner, the task
// store, statement builders, the handler registry, backoff) are not exported; import paths below
// `src/` are not part of the package's contract.

// Huawei's wire format: event types, one DTO class per event, signing.
export * from './protocol';

// The module, its options and what it injects.
export * from './recording-callback.module';
export * from './recording-callback.options';
export { RecordingCallbackOptionsError } from './recording-callback.options-resolver';
export { InjectRecordingCallbackOptions, RECORDING_CALLBACK_OPTIONS } from './recording-callback.module-definition';
export type { RecordingCallbackRouteExtras } from './recording-callback.module-definition';

// Schema: entities and migrations for the app's DataSource.
export * from './recording-callback.entities';
export * from './migrations';
export * from './tasks/recording-task.entity';
export * from './tasks/recording-file.entity';
export * from './tasks/task-transition.entity';
export * from './delivery/stored-callback.entity';
export * from './delivery/delivery.entity';

// Events, their payload classes, and the decorator for handlers.
export * from './delivery/recording-events';
export * from './delivery/on-recording-event.decorator';
export * from './tasks/task-status';
export type { FileState, TaskState, TaskTransition } from './tasks/task-state.reducer';

// Services an app calls, and what they return.
export * from './tasks/recording-tasks.service';
export * from './tasks/task.view';
export * from './tasks/list-tasks.query';
export * from './delivery/deliveries.service';
export * from './delivery/stalled-task.watchdog';
export * from './telemetry/recording-telemetry';
export * from './storage/database.gateway';

// Reconciliation against Huawei Live's recording listing, and the configuration check.
export { ReconcileService } from './reconcile/reconcile.service';
export type { ReconcileRequest, ReconcileSummary } from './reconcile/reconcile.service';
export type { Recovery } from './reconcile/reconcile-plan';
export { ReconcileBusyError } from './reconcile/reconcile-runs';
export { ReconcileRunEntity } from './reconcile/reconcile-run.entity';
export type { ReconcileRunStatus } from './reconcile/reconcile-run.entity';
export { RecordingDoctor } from './reconcile/recording-doctor';
export type { DoctorReport } from './reconcile/recording-doctor';
export type { DoctorFinding } from './reconcile/doctor-findings';
export { HuaweiLiveApiError, HuaweiLiveClient } from './reconcile/huawei-live.client';
export type { HuaweiLiveClientSettings, RecordContentsQuery } from './reconcile/huawei-live.client';
export type { CallbackAnswer } from './callback/recording-callback.controller';

// HTTP pieces an app installs: the bounded body reader, and the filter that answers every error.
export * from './callback/bounded-json-body';
export * from './errors/recording-exception.filter';
export { logLine, logText } from './telemetry/log-line';

// Errors.
export * from './callback/signature.exception';
export * from './errors/invalid-fields.exception';
export * from './storage/storage.errors';
