import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { loadHostConfig } from './host/host-config';
import { configureHttp } from './host/http-setup';
import { setupOpenApi } from './host/openapi';
import { startupBanner } from './host/startup-banner';

async function bootstrap(): Promise<void> {
  const config = loadHostConfig(process.env);
  const app = configureHttp(
    await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bodyParser: false }),
  );
  setupOpenApi(app, { queryToken: !!config.queryToken });
  await app.listen(config.port);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  new Logger('HostApp').log(`listening on port ${port}\n${startupBanner(config, `http://127.0.0.1:${port}`)}`);
}

bootstrap().catch((error: unknown) => {
  // Start-up errors (bad environment, database unreachable) are printed plainly, then the process exits.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
