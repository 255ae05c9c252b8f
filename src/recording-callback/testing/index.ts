/**
 * Test kit of the recording-callback module, imported from `<package>/testing`: builders of realistic
 * Huawei Live callback bodies and the signing function Huawei uses, so a test sends genuinely signed
 * callbacks. It depends on nothing but `node:crypto`, so it also runs in plain scripts.
 *
 * @example
 * import { buildRecordFileComplete, signRecordingCallback } from 'nest-huawei-live-recording-callback/testing';
 * await request(app.getHttpServer())
 *   .post('/recording-callbacks')
 *   .send(signRecordingCallback(buildRecordFileComplete({ task_id: 't1' }), { key: KEY }))
 *   .expect(200);
 */
export * from './sign-recording-callback';
export * from './callback-builders';
export { RecordFormat, RecordingEventType } from '../protocol/recording-event-type';
export type { SignatureAlgorithm } from '../protocol/signature';
