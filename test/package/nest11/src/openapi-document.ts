// The NestJS 11 app has @nestjs/swagger 11: prints the OpenAPI document of the consumer's module, so the
// package test can check that the library's routes and models are in it (a template of the package test).
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ConsumerModule } from './consumer.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(ConsumerModule, { logger: false });
  await app.init();
  const document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('consumer').build());
  process.stdout.write(JSON.stringify(document));
  await app.close();
}

void main();
