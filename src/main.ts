import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { loadHostConfig } from './host/host-config';
import { configureHttp } from './host/http-setup';
import { JsonLineLogger } from './host/json-line.logger';
import { setupOpenApi } from './host/openapi';
import { startupBanner } from './host/startup-banner';

async function bootstrap(): Promise<void> {
  const config = loadHostConfig(process.env);
  // JSON lines by default: one line per entry, whatever text a request carried, written after each
  // event-loop turn rather than one blocking write per line.
  const logger: LoggerService = config.logFormat === 'text' ? new ConsoleLogger() : new JsonLineLogger();
  const app = configureHttp(
    await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bodyParser: false, logger }),
    config.http,
  );
  if (config.apiDocs !== false) setupOpenApi(app, { queryToken: !!config.queryToken });
  await app.listen(config.port);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  new Logger('HostApp').log(`listening on port ${port}`);
  // Printed as plain lines, not a log entry, so the commands in it can be copied as they are.
  process.stdout.write(`${startupBanner(config, `http://127.0.0.1:${port}`)}\n`);
}

bootstrap().catch((error: unknown) => {
  // Start-up errors (bad environment, database unreachable) are printed plainly, then the process exits.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
