// The consumer app's entry point (a template of the package test; src/app.module.ts, the listener and
// src/operations.module.ts come from README.md).
import { Module } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RecordingExceptionFilter, boundedJsonBody } from 'nest-huawei-live-recording-callback';
import { AppModule } from './app.module';
import { serveOpenApi } from './openapi';
import { OperationsModule } from './operations.module';

/** The README's AppModule with the README's OperationsModule beside it, as the README says. */
@Module({ imports: [AppModule, OperationsModule] })
class ConsumerModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(ConsumerModule, { bodyParser: false });
  // As README.md's "create the app" block (less helmet, which the library does not need).
  app.use(boundedJsonBody({ limitBytes: 64 * 1024 }));
  app.useGlobalFilters(new RecordingExceptionFilter(app.get(HttpAdapterHost)));
  app.getHttpServer().headersTimeout = 10_000;
  app.getHttpServer().requestTimeout = 30_000;
  app.enableShutdownHooks();
  serveOpenApi(app);
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  console.log(`consumer app listening on ${await app.getUrl()}`);
}

void bootstrap();
