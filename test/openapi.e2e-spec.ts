// OpenAPI document of the host app: /docs (Swagger UI) and /docs-json, as main.ts serves them.
import request from 'supertest';
import { NestExpressApplication } from '@nestjs/platform-express';
import { RECORDING_EVENT_TYPES, parseRecordingCallback } from '../src/recording-callback';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { closeApp, startApp } from './support/start-app';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('OpenAPI of the host app (sqlite)', () => {
  let db: TestDatabase;
  let app: NestExpressApplication;
  let doc: Json;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await startApp(db, { host: { queryToken: 'query-secret' }, openApi: true });
    doc = (await request(app.getHttpServer()).get('/docs-json').expect(200).expect('content-type', /json/)).body;
  });
  afterAll(async () => {
    await closeApp(app);
    await db.drop();
  });

  it('serves the Swagger UI at /docs', async () => {
    const res = await request(app.getHttpServer()).get('/docs').expect(200);
    expect(res.text).toContain('swagger-ui');
  });

  it('documents every route of the module and the host app', () => {
    const routes = Object.entries(doc.paths as Json).flatMap(([path, ops]) =>
      Object.keys(ops as Json).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /health',
        'GET /metrics',
        'GET /recording-callbacks/deliveries',
        'GET /recording-tasks',
        'GET /recording-tasks/{taskId}',
        'GET /recording-tasks/{taskId}/transitions',
        'POST /recording-callbacks',
        'POST /recording-callbacks/deliveries/{id}/replay',
      ].sort(),
    );
  });

  it('describes the callback body per event type, with a discriminator and a valid example of each', () => {
    const post = doc.paths['/recording-callbacks'].post;
    const body = post.requestBody.content['application/json'];
    const refs = body.schema.oneOf.map((s: Json) => s.$ref);
    expect(refs).toHaveLength(5);
    expect(body.schema.discriminator.propertyName).toBe('event_type');
    expect(Object.keys(body.schema.discriminator.mapping).sort()).toEqual([...RECORDING_EVENT_TYPES].sort());
    for (const [eventType, ref] of Object.entries(body.schema.discriminator.mapping as Record<string, string>)) {
      const schema = doc.components.schemas[ref.replace('#/components/schemas/', '')];
      expect(schema.properties.event_type.enum).toEqual([eventType]);
      const example = body.examples[eventType].value;
      expect(example.event_type).toBe(eventType);
      // Every documented example is a body the module itself accepts (signature aside).
      expect(parseRecordingCallback(example)).toMatchObject({ ok: true });
      for (const field of schema.required) expect(example).toHaveProperty(field);
    }
  });

  it('gives each event schema the fields and rules of its DTO', () => {
    const schemas = doc.components.schemas as Json;
    const common = ['app', 'event_type', 'publish_domain', 'stream', 'task_id'];
    expect(schemas.RecordStartDto.required.sort()).toEqual(common);
    expect(schemas.RecordOverDto.required.sort()).toEqual(common);
    expect(schemas.RecordFailedDto.required.sort()).toEqual(common);
    expect(schemas.RecordNewFileStartDto.required.sort()).toEqual([...common, 'job_id', 'record_format'].sort());
    expect(schemas.RecordFileCompleteDto.required.sort()).toEqual(
      [...common, 'download_url', 'job_id', 'record_format'].sort(),
    );
    const file = schemas.RecordFileCompleteDto.properties;
    expect(file.file_size).toMatchObject({ type: 'integer', minimum: 0 });
    expect(file.start_time.pattern).toBe('^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$');
    expect(file.download_url).toMatchObject({ type: 'string', format: 'uri' });
    expect(Object.keys(file)).toEqual(
      expect.arrayContaining(['asset_id', 'width', 'height', 'play_url', 'obs_location', 'obs_bucket', 'obs_object']),
    );
    expect(schemas.RecordFailedDto.properties.error_message.type).toBe('string');
    expect(schemas.RecordFormat.enum).toEqual(['HLS', 'FLV', 'MP4']);
  });

  it('documents the answers of the callback route: 200, 400, 401, 413, 503', () => {
    const responses = doc.paths['/recording-callbacks'].post.responses as Json;
    expect(Object.keys(responses).sort()).toEqual(['200', '400', '401', '413', '503']);
    const ref = (status: string) => responses[status].content['application/json'].schema.$ref;
    expect(ref('200')).toBe('#/components/schemas/CallbackAnswer');
    expect(ref('400')).toBe('#/components/schemas/ValidationErrorAnswer');
    expect(ref('401')).toBe('#/components/schemas/SignatureErrorAnswer');
    expect(ref('503')).toBe('#/components/schemas/ErrorAnswer');
    expect(doc.components.schemas.SignatureErrorAnswer.properties.reason.enum).toEqual([
      'missing_signature',
      'bad_signature',
      'expired',
    ]);
    expect(doc.components.schemas.CallbackAnswer.properties.result.enum).toEqual(['accepted', 'duplicate']);
  });

  it('documents the query routes: parameters, task and page schemas, 404, and the bearer token', () => {
    const list = doc.paths['/recording-tasks'].get;
    // `limit` comes first: it is declared on the shared PageQuery base class.
    expect(list.parameters.map((p: Json) => `${p.in}:${p.name}`)).toEqual([
      'query:limit',
      'query:publishDomain',
      'query:app',
      'query:stream',
      'query:status',
      'query:cursor',
    ]);
    expect(list.parameters.find((p: Json) => p.name === 'limit').schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100,
    });
    expect(list.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/RecordingTaskPage',
    );
    const task = doc.components.schemas.RecordingTask;
    expect(Object.keys(task.properties)).toEqual(
      expect.arrayContaining(['taskId', 'status', 'lastEventType', 'createdAt', 'files']),
    );
    expect(task.properties.files.items.$ref).toBe('#/components/schemas/RecordingFile');
    const get = doc.paths['/recording-tasks/{taskId}'].get;
    expect(Object.keys(get.responses).sort()).toEqual(['200', '401', '404']);
    expect(doc.paths['/recording-callbacks/deliveries'].get.parameters.map((p: Json) => p.name)).toEqual([
      'limit',
      'status',
      'taskId',
      'cursor',
    ]);
    // RECORDING_QUERY_TOKEN is set: the query routes need it, the callback route never does.
    expect(doc.components.securitySchemes['query-token']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(list.security).toEqual([{ 'query-token': [] }]);
    expect(doc.paths['/recording-callbacks/deliveries'].get.security).toEqual([{ 'query-token': [] }]);
    expect(doc.paths['/recording-callbacks'].post.security).toBeUndefined();
    expect(doc.paths['/health'].get.security).toBeUndefined();
    expect(doc.paths['/metrics'].get.security).toEqual([{ 'query-token': [] }]);
  });
});
