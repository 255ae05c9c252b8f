/**
 * The database could not do the work now (connection lost, timeout, lock, serialization failure, disk
 * busy). Trying again later is safe and may succeed: the HTTP layer answers 503.
 *
 * @example
 * if (error instanceof StorageUnavailableError) retryLater();
 */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';

  constructor(
    message: string,
    /** SQLSTATE (PostgreSQL), SQLite result code or Node error code, when known. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The database refused a value (PostgreSQL SQLSTATE class 22 or 23, SQLite constraint or type errors).
 * The same input would fail again, so the HTTP layer answers 400 rather than 503: Huawei would resend a
 * 503 forever.
 *
 * @example
 * if (error instanceof StorageDataError) console.log(error.column ?? 'unknown column');
 */
export class StorageDataError extends Error {
  override readonly name = 'StorageDataError';

  constructor(
    message: string,
    readonly code?: string,
    /** The column the database named, when it named one (not-null and some check violations). */
    readonly column?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A storage failure of either kind. */
export type StorageError = StorageUnavailableError | StorageDataError;

// SQLSTATE classes of PostgreSQL: 22 data exception, 23 integrity constraint violation.
const DATA_SQLSTATE = /^2[23][0-9A-Z]{3}$/;
// SQLite result codes that mean the value, not the database, is at fault.
const DATA_SQLITE = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/;

function field(error: unknown, name: string): unknown {
  if (typeof error !== 'object' || error === null) return undefined;
  const own = (error as Record<string, unknown>)[name];
  if (own !== undefined) return own;
  // TypeORM's QueryFailedError keeps the driver's error.
  const driver = (error as Record<string, unknown>).driverError;
  return typeof driver === 'object' && driver !== null ? (driver as Record<string, unknown>)[name] : undefined;
}

/**
 * Sorts an error thrown by the database driver (pg, better-sqlite3, through TypeORM or not) into one of
 * the two kinds. Anything that is not recognisably a refused value counts as unavailable: a retry is
 * always safe, since a failed transaction stored nothing.
 *
 * @example
 * try { await work() } catch (e) { throw classifyStorageError(e) }
 */
export function classifyStorageError(error: unknown): StorageError {
  if (error instanceof StorageUnavailableError || error instanceof StorageDataError) return error;
  const code = field(error, 'code');
  const codeText = typeof code === 'string' ? code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (codeText && (DATA_SQLSTATE.test(codeText) || DATA_SQLITE.test(codeText))) {
    const column = field(error, 'column');
    return new StorageDataError(message, codeText, typeof column === 'string' ? column : undefined, { cause: error });
  }
  return new StorageUnavailableError(message, codeText, { cause: error });
}
