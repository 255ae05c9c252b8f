/**
 * How the database gateway talks to the database, as the module's options set it.
 *
 * @example
 * { provide: STORAGE_SETTINGS, useValue: { preparedStatements: true } }
 */
export interface StorageSettings {
  /**
   * PostgreSQL: send each statement as a named prepared statement, which the connection parses and
   * plans once per text. Off by default: PgBouncer in transaction mode before 1.21 hands a later
   * statement to a server connection that never prepared it.
   */
  preparedStatements: boolean;
}

/** Injection token of the {@link StorageSettings} (optional: defaults apply without it). */
export const STORAGE_SETTINGS = Symbol('RECORDING_CALLBACK_STORAGE_SETTINGS');
