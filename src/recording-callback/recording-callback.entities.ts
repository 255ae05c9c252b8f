import { DeliveryEntity } from './delivery/delivery.entity';
import { StoredCallbackEntity } from './delivery/stored-callback.entity';
import { ReconcileRunEntity } from './reconcile/reconcile-run.entity';
import { RecordingFileEntity } from './tasks/recording-file.entity';
import { RecordingTaskEntity } from './tasks/recording-task.entity';
import { TaskTransitionEntity } from './tasks/task-transition.entity';

/**
 * Every entity of the module. Add them to the host app's DataSource (or use `autoLoadEntities`).
 * They are declared `synchronize: false`: the module's migrations own these tables (with timestamptz and
 * jsonb on PostgreSQL), so an app's `synchronize` or `migration:generate` never alters them.
 *
 * @example
 * TypeOrmModule.forRoot({ type: 'postgres', url, entities: [...RECORDING_CALLBACK_ENTITIES] })
 */
export const RECORDING_CALLBACK_ENTITIES = [
  RecordingTaskEntity,
  RecordingFileEntity,
  TaskTransitionEntity,
  StoredCallbackEntity,
  DeliveryEntity,
  ReconcileRunEntity,
] as const;
