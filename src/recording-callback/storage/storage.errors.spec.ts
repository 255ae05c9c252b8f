import { StorageDataError, StorageUnavailableError, classifyStorageError } from './storage.errors';

function driverError(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`driver error ${code}`), { code, ...extra });
}

describe('classifyStorageError', () => {
  it.each(['22001', '22P02', '22021', '23502', '23505', '23514'])('PostgreSQL SQLSTATE %s is a data error', (code) => {
    const error = classifyStorageError(driverError(code, { column: code === '23502' ? 'task_id' : undefined }));
    expect(error).toBeInstanceOf(StorageDataError);
    expect(error.code).toBe(code);
    expect((error as StorageDataError).column).toBe(code === '23502' ? 'task_id' : undefined);
  });

  it.each(['08006', '08001', '57P01', '57014', '40001', '40P01', '55P03', '53300', 'ECONNREFUSED', 'SQLITE_BUSY'])(
    '%s is unavailable',
    (code) => {
      expect(classifyStorageError(driverError(code))).toBeInstanceOf(StorageUnavailableError);
    },
  );

  it.each(['SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_TOOBIG', 'SQLITE_MISMATCH'])(
    'SQLite %s is a data error',
    (code) => {
      expect(classifyStorageError(driverError(code))).toBeInstanceOf(StorageDataError);
    },
  );

  it('reads the code of the driver error that TypeORM wraps', () => {
    const wrapped = Object.assign(new Error('query failed'), { driverError: driverError('22001') });
    const error = classifyStorageError(wrapped);
    expect(error).toBeInstanceOf(StorageDataError);
    expect(error.cause).toBe(wrapped);
  });

  it('counts errors without a code, and non-errors, as unavailable', () => {
    expect(classifyStorageError(new Error('Connection terminated unexpectedly'))).toBeInstanceOf(
      StorageUnavailableError,
    );
    expect(classifyStorageError('boom')).toBeInstanceOf(StorageUnavailableError);
    expect(classifyStorageError(null).message).toBe('null');
  });

  it('passes typed errors through unchanged', () => {
    const typed = new StorageDataError('x', '22001');
    expect(classifyStorageError(typed)).toBe(typed);
  });
});
