import { NestExpressApplication } from '@nestjs/platform-express';

/** Largest callback body accepted; larger bodies get 413. Huawei's callbacks are well under 2 KiB. */
export const CALLBACK_BODY_LIMIT = '64kb';

/**
 * HTTP settings the host app applies before listening; tests apply the same.
 * The app must be created with `{ bodyParser: false }` so this limit is the only JSON parser.
 *
 * @example
 * const app = await NestFactory.create<NestExpressApplication>(module, { bodyParser: false });
 * configureHttp(app);
 */
export function configureHttp(app: NestExpressApplication): NestExpressApplication {
  app.useBodyParser('json', { limit: CALLBACK_BODY_LIMIT });
  app.enableShutdownHooks();
  return app;
}
