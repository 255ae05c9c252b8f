import { InitialSchema1764300000000 } from './1764300000000-initial-schema';
import { Deliveries1764300000001 } from './1764300000001-deliveries';
import { Reconcile1764300000002 } from './1764300000002-reconcile';

/**
 * The module's migrations, oldest first. Add them to the host app's DataSource `migrations`.
 *
 * @example
 * new DataSource({ type: 'postgres', url, migrations: [...RECORDING_CALLBACK_MIGRATIONS] });
 */
export const RECORDING_CALLBACK_MIGRATIONS = [
  InitialSchema1764300000000,
  Deliveries1764300000001,
  Reconcile1764300000002,
];

export { runMigrationsLocked } from './run-migrations-locked';
