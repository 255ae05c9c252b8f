import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';

/** Where the host app serves the Swagger UI; the JSON document is at `/docs-json`. */
export const DOCS_PATH = 'docs';

const QUERY_TOKEN_SCHEME = 'query-token';

/**
 * Builds the OpenAPI document of the host app (callback, query, delivery, health and metrics routes) and
 * serves the Swagger UI at `/docs` and the JSON at `/docs-json`. Call it before `app.init()` / `listen()`.
 * With `queryToken`, the query and delivery routes (and /metrics) are marked as needing the bearer token.
 *
 * @example
 * const app = configureHttp(await NestFactory.create(AppModule.forRoot(config), { bodyParser: false }));
 * setupOpenApi(app, { queryToken: !!config.queryToken });
 * await app.listen(config.port);
 */
export function setupOpenApi(app: INestApplication, options: { queryToken?: boolean } = {}): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Huawei Cloud Live recording callbacks')
    .setDescription(
      'Receives Huawei Cloud Live recording callbacks (signed with HMACSHA256 or MD5), keeps every recording ' +
        "task's state, and answers queries about tasks and deliveries to the app's handlers.",
    )
    .setVersion('1');
  if (options.queryToken) {
    builder.addBearerAuth({ type: 'http', scheme: 'bearer', description: 'RECORDING_QUERY_TOKEN' }, QUERY_TOKEN_SCHEME);
  }
  const document = SwaggerModule.createDocument(app, builder.build());
  if (options.queryToken) {
    for (const path of Object.values(document.paths)) {
      for (const operation of [path.get, path.post]) {
        const tags = operation?.tags ?? [];
        const guarded =
          tags.includes('Recording tasks') ||
          tags.includes('Recording deliveries') ||
          operation?.summary === 'Prometheus metrics';
        if (operation && guarded) operation.security = [{ [QUERY_TOKEN_SCHEME]: [] }];
      }
    }
  }
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    customSiteTitle: 'Recording callbacks API',
  });
  return document;
}
