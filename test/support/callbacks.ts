import { computeSignature } from '../../src/recording-callback';
import type { SignatureAlgorithm } from '../../src/recording-callback';

/** Keys that satisfy the module's key rules (32+ letters and digits). */
export const KEY_A = 'Kx7Qm2Lp9Vt4Rz8Wb3Nc6Hd1Fg5Js0Ya';
export const KEY_B = 'r0tat3dKeyAbCdEf9876543210ZyXwVuTsRq';

type Body = Record<string, unknown>;

/** A RECORD_START body for a task, with overrides. */
export function startBody(taskId: string, over: Body = {}): Body {
  return {
    project_id: 'proj-1',
    task_id: taskId,
    event_type: 'RECORD_START',
    publish_domain: 'push.example.com',
    app: 'live',
    stream: `stream-${taskId}`,
    record_format: 'HLS',
    ...over,
  };
}

/** Any lifecycle event body for a task: file events need `jobId`. */
export function eventBody(taskId: string, eventType: string, jobId?: string, format = 'HLS', over: Body = {}): Body {
  const body: Body = { ...startBody(taskId), event_type: eventType, record_format: format };
  if (jobId) body.job_id = jobId;
  if (eventType === 'RECORD_FILE_COMPLETE') {
    Object.assign(body, {
      download_url: `https://obs.example.com/${taskId}/${jobId}.${format.toLowerCase()}`,
      asset_id: `asset-${jobId}`,
      file_size: 3957964,
      record_duration: 120,
      start_time: '2020-03-08T14:10:25Z',
      end_time: '2020-03-08T14:12:25Z',
      width: 1280,
      height: 720,
    });
  }
  if (eventType === 'RECORD_FAILED') body.error_message = 'upload to OBS failed';
  return { ...body, ...over };
}

/**
 * Adds `auth_timestamp` and a real `auth_sign` to a body.
 *
 * @example
 * request(server).post('/recording-callbacks').send(sign(startBody('t1')))
 */
export function sign(
  body: Body,
  opts: { key?: string; algorithm?: SignatureAlgorithm; timestamp?: number } = {},
): Body {
  const auth_timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signed = { ...body, auth_timestamp };
  return { ...signed, auth_sign: computeSignature(opts.algorithm ?? 'HMACSHA256', signed as never, opts.key ?? KEY_A) };
}

/** Waits until `check` returns true, polling; fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
