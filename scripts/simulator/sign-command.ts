import { parseArgs } from 'node:util';
import {
  RecordingEventType,
  buildRecordFailed,
  buildRecordFileComplete,
  buildRecordNewFileStart,
  buildRecordOver,
  buildRecordStart,
  signRecordingCallback,
} from '../../src/recording-callback/testing';
import { UsageError } from './usage';
import { FORMATS, EVENT_TYPES, signing } from './options';
import type { Body } from './options';

/** `simulate sign`: prints one signed callback body (for curl -d). */
export function signCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: 'string' },
      algorithm: { type: 'string' },
      expires: { type: 'string' },
      event: { type: 'string' },
      'task-id': { type: 'string' },
      'job-id': { type: 'string' },
      format: { type: 'string' },
      domain: { type: 'string' },
      app: { type: 'string' },
      stream: { type: 'string' },
      set: { type: 'string', multiple: true },
      body: { type: 'string' },
    },
  });
  const how = signing(values);
  let body: Body;
  if (values.body !== undefined) {
    try {
      body = JSON.parse(values.body) as Body;
    } catch {
      throw new UsageError('--body must be a JSON object');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new UsageError('--body must be a JSON object');
  } else {
    const event = (values.event ?? RecordingEventType.FileComplete).toUpperCase();
    if (!EVENT_TYPES.includes(event))
      throw new UsageError(`--event must be one of ${EVENT_TYPES.join(', ')}, got "${event}"`);
    const format = values.format?.toUpperCase();
    if (format !== undefined && !FORMATS.includes(format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${values.format}"`);
    }
    const overrides: Body = {};
    if (values['task-id']) overrides.task_id = values['task-id'];
    if (values['job-id']) overrides.job_id = values['job-id'];
    if (format) overrides.record_format = format;
    if (values.domain) overrides.publish_domain = values.domain;
    if (values.app) overrides.app = values.app;
    if (values.stream) overrides.stream = values.stream;
    const builders: Record<string, (o: Body) => Body> = {
      [RecordingEventType.Start]: (o) => buildRecordStart(o),
      [RecordingEventType.NewFileStart]: (o) => buildRecordNewFileStart(o),
      [RecordingEventType.FileComplete]: (o) => buildRecordFileComplete(o),
      [RecordingEventType.Over]: (o) => buildRecordOver(o),
      [RecordingEventType.Failed]: (o) => buildRecordFailed(o),
    };
    body = builders[event](overrides);
  }
  for (const assignment of values.set ?? []) {
    const eq = assignment.indexOf('=');
    if (eq < 1) throw new UsageError(`--set takes FIELD=VALUE, got "${assignment}"`);
    const text = assignment.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // a plain string
    }
    body[assignment.slice(0, eq)] = value;
  }
  const signed = signRecordingCallback(body, { key: how.key, algorithm: how.algorithm, expiresInSeconds: how.expires });
  process.stdout.write(JSON.stringify(signed) + '\n');
  return 0;
}
