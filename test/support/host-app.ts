import { INestApplication } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import type { HostConfig } from '../../src/host/host-config';
import { configureHttp } from '../../src/host/http-setup';
import { setupOpenApi } from '../../src/host/openapi';
import { KEY_A } from './callbacks';
import type { TestDatabase } from './databases';

/**
 * Starts the real host app (same module, same HTTP settings as `npm start`) on a test database.
 *
 * @example
 * const app = await startHostApp(db, { queryToken: 'secret' });
 */
/** Extra settings of {@link startHostApp}. */
export interface HostAppSettings {
  /** Serve /docs and /docs-json, as `main.ts` does. */
  openApi?: boolean;
  /** Receives every log line from creation on (default: none printed). */
  logger?: LoggerService;
}

export async function startHostApp(
  db: TestDatabase,
  over: Partial<HostConfig> = {},
  settings: HostAppSettings = {},
): Promise<NestExpressApplication> {
  const config: HostConfig = {
    port: 0,
    databaseUrl: db.databaseUrl,
    sqlitePath: db.sqlitePath,
    poolSize: 10,
    algorithm: 'HMACSHA256',
    keys: [KEY_A],
    devKey: false,
    toleranceSeconds: 300,
    ...over,
  };
  const app = configureHttp(
    await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
      bodyParser: false,
      logger: settings.logger ?? false,
    }),
    config.http,
  );
  if (settings.openApi) setupOpenApi(app, { queryToken: !!config.queryToken });
  await app.init();
  return app;
}

/** Closes an app, ignoring an app that failed to start. */
export async function closeApp(app: INestApplication | undefined): Promise<void> {
  if (app) await app.close();
}
