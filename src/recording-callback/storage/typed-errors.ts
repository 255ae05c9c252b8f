import { HttpException } from '@nestjs/common';
import { classifyStorageError } from './storage.errors';

/**
 * Awaits work and turns its failure into a typed storage error, as callers of the gateway see it (HTTP
 * errors the work threw pass unchanged).
 *
 * @example
 * const rows = await typedStorageErrors(runner.query(text));
 */
export async function typedStorageErrors<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof HttpException) throw error;
    throw classifyStorageError(error);
  }
}
