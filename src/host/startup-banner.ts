import { computeSignature } from '../recording-callback';
import type { HostConfig } from './host-config';

/** Whether reconciliation is on, where it reads, and how it is run. */
function reconcileLine(config: HostConfig, baseUrl: string): string {
  const r = config.reconcile;
  if (!r) return 'Reconciliation:      off (set HUAWEI_CLOUD_AK, HUAWEI_CLOUD_SK, HUAWEI_CLOUD_PROJECT_ID)';
  const where = r.endpoint ?? `region ${r.region}`;
  const when = r.intervalSeconds ? `every ${r.intervalSeconds} s` : 'on demand only';
  return `Reconciliation:      on (${where}, ${when}); POST ${baseUrl}/recording-callbacks/reconcile`;
}

/**
 * What the host app prints once it listens: where, which database, which algorithm, and how to send one
 * validly signed callback. With the development key (printed anyway) that is a ready-to-paste curl
 * command valid for an hour. With configured keys no signature is printed, since logs are read by more
 * people than hold the key (and an MD5 signature would let its reader forge any callback): the command
 * then signs with the key from the environment through the simulator.
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
    auth_timestamp: Math.floor(nowMs / 1000) + 3600,
  };
  const database = config.databaseUrl
    ? `PostgreSQL ${new URL(config.databaseUrl).host}`
    : `SQLite ${config.sqlitePath}`;
  const lines = [
    `Recording callbacks: POST ${baseUrl}/recording-callbacks`,
    `Task queries:        GET  ${baseUrl}/recording-tasks${config.queryToken ? ' (Authorization: Bearer $RECORDING_QUERY_TOKEN)' : ''}`,
    config.apiDocs === false
      ? 'API docs:            off (RECORDING_API_DOCS=off)'
      : `API docs:            ${baseUrl}/docs (OpenAPI JSON: ${baseUrl}/docs-json)`,
    `Health:              ${baseUrl}/health${config.metrics === false ? '' : `   Metrics: ${baseUrl}/metrics`}`,
    `Database:            ${database}`,
    `Signature:           ${config.algorithm}, ${config.keys.length} key(s)`,
    config.queryToken
      ? 'Delivery replay:     on (Authorization: Bearer $RECORDING_QUERY_TOKEN)'
      : 'Delivery replay:     off (403) until RECORDING_QUERY_TOKEN is set',
    reconcileLine(config, baseUrl),
  ];
  if (config.devKey) {
    lines.push(
      `No RECORDING_CALLBACK_KEYS set: using the development key stored in ${config.sqlitePath.replace(/[^/]*$/, '')}dev-callback-key:`,
      `  ${config.keys[0]}`,
      '  Configure the same key in the Huawei Live console, or set RECORDING_CALLBACK_KEYS for production.',
    );
  }
  const post = `curl -s -X POST ${baseUrl}/recording-callbacks -H 'Content-Type: application/json'`;
  if (config.devKey) {
    body.auth_sign = computeSignature(config.algorithm, body as never, config.keys[0]);
    lines.push('Try it:', `  ${post} -d '${JSON.stringify(body)}'`);
  } else {
    const keyVar = 'RECORDING_CALLBACK_KEYS';
    lines.push(
      `Try it (signs with the first key of $${keyVar}, which must be set in this shell too):`,
      `  npm run -s simulate -- sign --event RECORD_START --task-id ${body.task_id} | ${post} --data-binary @-`,
    );
  }
  lines.push(
    `  curl -s ${baseUrl}/recording-tasks/${body.task_id}${config.queryToken ? ' -H "Authorization: Bearer $RECORDING_QUERY_TOKEN"' : ''}`,
  );
  return lines.join('\n');
}
