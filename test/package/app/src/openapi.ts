import type { INestApplication } from '@nestjs/common';

/** This app has no @nestjs/swagger (the library must run without it); nest11/src/openapi.ts has one. */
export function serveOpenApi(_app: INestApplication): void {}
