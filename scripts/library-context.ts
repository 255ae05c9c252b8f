import type { INestApplicationContext, Type } from '@nestjs/common';

/** A failure an operator command reports plainly (exit code 1). */
export class Failure extends Error {}

/**
 * Starts an operator command's Nest application context (the library on the app's database) without
 * logs, and refuses a database the app's migrations have not reached. Close it when done.
 *
 * @example
 * const app = await startLibraryContext(DeliveriesCliModule);
 */
export async function startLibraryContext(module: Type<unknown>): Promise<INestApplicationContext> {
  // Loaded here, not at the top: commands report bad arguments without loading Nest (seconds).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NestFactory } = require('@nestjs/core') as typeof import('@nestjs/core');
  const { DataSource } = require('typeorm') as typeof import('typeorm');
  /* eslint-enable @typescript-eslint/no-require-imports */
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(module, { logger: false, abortOnError: false });
  } catch (e) {
    throw new Failure(`cannot open the database: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (await app.get(DataSource).showMigrations()) {
    await app.close();
    throw new Failure(
      'this database is missing recording tables or migrations: start the app once (it runs the migrations) or run npm run migration:run',
    );
  }
  return app;
}
