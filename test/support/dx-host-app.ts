import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import type { HostConfig } from '../../src/host/host-config';
import { configureHttp } from '../../src/host/http-setup';
import { setupOpenApi } from '../../src/host/openapi';
import { KEY_A } from './callbacks';
import type { TestDatabase } from './databases';

/** Extra settings of {@link startFullHostApp}. */
export interface FullHostAppSettings {
  /** Serve /docs and /docs-json, as `main.ts` does. */
  openApi?: boolean;
  /** Receives every log line from creation on (default: none printed). */
  logger?: LoggerService;
}

/**
 * Starts the real host app like `main.ts` does, on a test database: same module, same HTTP settings,
 * optionally the OpenAPI routes and a logger that captures everything.
 *
 * @example
 * const app = await startFullHostApp(db, { queryToken: 't' }, { openApi: true });
 */
export async function startFullHostApp(
  db: TestDatabase,
  over: Partial<HostConfig> = {},
  settings: FullHostAppSettings = {},
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
  );
  if (settings.openApi) setupOpenApi(app, { queryToken: !!config.queryToken });
  await app.init();
  return app;
}
