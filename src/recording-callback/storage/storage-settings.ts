/**
 * How the database gateway talks to the database, as the module's options set it.
 *
 * @example
 * { provide: STORAGE_SETTINGS, useValue: { preparedStatements: true } }
 */
export interface StorageSettings {
  /**
   * PostgreSQL: send short statements as named prepared statements, parsed once per text on each
   * connection (at most 200 per connection, see `StatementNamer`). Off by default: PgBouncer in
   * transaction mode before 1.21 hands a later statement to a server connection that never prepared it.
   */
  preparedStatements: boolean;
}

/** Injection token of the {@link StorageSettings} (optional: defaults apply without it). */
export const STORAGE_SETTINGS = Symbol('RECORDING_CALLBACK_STORAGE_SETTINGS');
