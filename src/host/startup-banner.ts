import { computeSignature } from '../recording-callback';
import type { HostConfig } from './host-config';

/**
 * What the host app prints once it listens: where, which database, which algorithm, and a curl command
 * that sends one validly signed callback (valid for a day), so a first try needs nothing else.
 *
 * @example
 * console.log(startupBanner(config, 'http://127.0.0.1:3000'));
 */
export function startupBanner(config: HostConfig, baseUrl: string, nowMs = Date.now()): string {
  const body: Record<string, string | number> = {
    project_id: 'example-project',
    task_id: `example-task-${Math.floor(nowMs / 1000)}`,
    event_type: 'RECORD_START',
    publish_domain: 'push.example.com',
    app: 'live',
    stream: 'mystream',
    record_format: 'HLS',
    auth_timestamp: Math.floor(nowMs / 1000) + 86400,
  };
  body.auth_sign = computeSignature(config.algorithm, body as never, config.keys[0]);
  const database = config.databaseUrl ? `PostgreSQL ${new URL(config.databaseUrl).host}` : `SQLite ${config.sqlitePath}`;
  const lines = [
    `Recording callbacks: POST ${baseUrl}/recording-callbacks`,
    `Task queries:        GET  ${baseUrl}/recording-tasks${config.queryToken ? ' (Authorization: Bearer $RECORDING_QUERY_TOKEN)' : ''}`,
    `API docs:            ${baseUrl}/docs (OpenAPI JSON: ${baseUrl}/docs-json)`,
    `Health:              ${baseUrl}/health${config.metrics === false ? '' : `   Metrics: ${baseUrl}/metrics`}`,
    `Database:            ${database}`,
    `Signature:           ${config.algorithm}, ${config.keys.length} key(s)`,
  ];
  if (config.devKey) {
    lines.push(
      `No RECORDING_CALLBACK_KEYS set: using the development key stored in ${config.sqlitePath.replace(/[^/]*$/, '')}dev-callback-key:`,
      `  ${config.keys[0]}`,
      '  Configure the same key in the Huawei Live console, or set RECORDING_CALLBACK_KEYS for production.',
    );
  }
  lines.push(
    'Try it:',
    `  curl -s -X POST ${baseUrl}/recording-callbacks -H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`,
    `  curl -s ${baseUrl}/recording-tasks/${body.task_id}`,
  );
  return lines.join('\n');
}
