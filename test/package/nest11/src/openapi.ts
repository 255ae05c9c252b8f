import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** The NestJS 11 app has @nestjs/swagger 11: serves its OpenAPI document at /docs-json. */
export function serveOpenApi(app: INestApplication): void {
  SwaggerModule.setup(
    'docs',
    app,
    SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('consumer').build()),
  );
}
