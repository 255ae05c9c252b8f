import { ApiProperty, ApiPropertyOptional } from '../protocol/optional-swagger';
import { RecordFormat, RecordingEventType } from '../protocol/recording-event-type';

// Schemas of the module's answers, for the OpenAPI document only: the routes return plain objects of
// the same shape (see tasks/task.view.ts, delivery/deliveries.service.ts, callback controller).

const TASK_STATUSES = ['RECORDING', 'OVER', 'FAILED'];
const FILE_STATUSES = ['RECORDING', 'COMPLETE'];

/** 200 answer of the callback route. */
export class CallbackAnswer {
  @ApiProperty({
    enum: ['accepted', 'duplicate'],
    description:
      '`accepted`: stored now; `duplicate`: the same content (less auth_sign and auth_timestamp) was stored before',
    example: 'accepted',
  })
  result: 'accepted' | 'duplicate';

  @ApiProperty({ type: 'integer', description: 'Id of the stored callback, handed to event handlers', example: 42 })
  callbackId: number;
}

/** Any error answer. */
export class ErrorAnswer {
  @ApiProperty({ type: 'integer', example: 503 })
  statusCode: number;

  @ApiProperty({ example: 'Service Unavailable' })
  error: string;

  @ApiProperty({ example: 'storage unavailable; the callback was not stored, send it again' })
  message: string;
}

/** 400 answer: the fields at fault with their messages. */
export class ValidationErrorAnswer extends ErrorAnswer {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    description: 'Invalid fields, each with its messages',
    example: { download_url: ['download_url must be a URL address'] },
  })
  fields: Record<string, string[]>;
}

/** 401 answer of the signature guard. */
export class SignatureErrorAnswer extends ErrorAnswer {
  @ApiProperty({
    enum: ['missing_signature', 'bad_signature', 'expired'],
    description:
      'Why the signature was refused; never includes a key or a signature. An unconfigured publish_domain is ' +
      '`bad_signature`; a timestamp too old or too far ahead is `expired` (the log line keeps the exact reason).',
    example: 'bad_signature',
  })
  reason: string;
}

/** A recording file (one `job_id` in one format). */
export class RecordingFile {
  @ApiProperty({ example: 'dc0a1773-0cef-4c4b-9d2e-9a38fdb095d2' })
  jobId: string;

  @ApiProperty({ enum: RecordFormat, enumName: 'RecordFormat', example: RecordFormat.Hls })
  recordFormat: string;

  @ApiProperty({ enum: FILE_STATUSES, example: 'COMPLETE' })
  status: string;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example:
      'https://obs.cn-north-4.myhuaweicloud.com/live/record-mystream-1583676625/record-push.example.com-live-mystream-1583676625.m3u8',
  })
  downloadUrl: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: '1a0d8e9bfae04c8a9be5021e62aa1e96' })
  assetId: string | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 3957964 })
  fileSize: number | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'Seconds', example: 120 })
  recordDuration: number | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: '2020-03-08T14:10:25.000Z' })
  startTime: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: '2020-03-08T14:12:25.000Z' })
  endTime: string | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 1280 })
  width: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 720 })
  height: number | null;
}

/** A recording task with its files. */
export class RecordingTask {
  @ApiProperty({ example: '51126d0ebe94b1da00d2e21a10c3b7f2' })
  taskId: string;

  @ApiProperty({ type: 'string', nullable: true, example: '70b76c1e9d2a4f3b880af501cd7e4a21' })
  projectId: string | null;

  @ApiProperty({ example: 'push.example.com' })
  publishDomain: string;

  @ApiProperty({ example: 'live' })
  app: string;

  @ApiProperty({ example: 'mystream' })
  stream: string;

  @ApiProperty({ type: 'string', nullable: true, enum: RecordFormat, enumName: 'RecordFormat', example: 'HLS' })
  recordFormat: string | null;

  @ApiProperty({
    enum: TASK_STATUSES,
    description: 'Join over the events seen: RECORDING < OVER < FAILED; never moves down',
    example: 'OVER',
  })
  status: string;

  @ApiProperty({ type: 'string', nullable: true, example: null })
  errorMessage: string | null;

  @ApiProperty({ type: 'string', nullable: true, enum: RecordingEventType, enumName: 'RecordingEventType' })
  lastEventType: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  lastEventAt: string | null;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'Set when the task stayed RECORDING without callbacks too long',
  })
  stalledAt: string | null;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  updatedAt: string;

  @ApiProperty({ type: () => [RecordingFile] })
  files: RecordingFile[];
}

/** One page of tasks. */
export class RecordingTaskPage {
  @ApiProperty({ type: () => [RecordingTask] })
  items: RecordingTask[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page',
  })
  nextCursor: string | null;
}

/** One status change of a task. */
export class TaskTransition {
  @ApiProperty({ type: 'string', nullable: true, enum: TASK_STATUSES, example: null })
  fromStatus: string | null;

  @ApiProperty({ enum: TASK_STATUSES, example: 'RECORDING' })
  toStatus: string;

  @ApiProperty({ enum: RecordingEventType, enumName: 'RecordingEventType', example: 'RECORD_START' })
  eventType: string;

  @ApiProperty({ type: 'string', nullable: true, example: null })
  jobId: string | null;

  @ApiProperty({ type: 'string', format: 'date-time' })
  at: string;
}

/** A task's status changes, oldest first. */
export class TaskTransitionList {
  @ApiProperty({ type: () => [TaskTransition] })
  items: TaskTransition[];
}

/** The hand-over of one stored callback to the app's handlers. */
export class Delivery {
  @ApiProperty({ type: 'integer', example: 7 })
  id: number;

  @ApiProperty({ type: 'integer', nullable: true, description: 'Null for a stalled-task notice', example: 42 })
  callbackId: number | null;

  @ApiProperty({ example: '51126d0ebe94b1da00d2e21a10c3b7f2' })
  taskId: string;

  @ApiProperty({ description: 'A Huawei event type, or STALLED', example: 'RECORD_FILE_COMPLETE' })
  eventType: string;

  @ApiProperty({ enum: ['pending', 'failed', 'delivered', 'dead'], example: 'dead' })
  status: string;

  @ApiProperty({ type: 'integer', example: 8 })
  attempts: number;

  @ApiProperty({ type: 'string', nullable: true, example: 'ArchiveHandler.onFile: connect ECONNREFUSED' })
  lastError: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'Null unless pending or failed' })
  nextAttemptAt: string | null;

  @ApiProperty({ type: [String], description: 'Handlers that already succeeded; a retry skips them' })
  succeededHandlers: string[];

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  updatedAt: string;
}

/** One page of deliveries, newest first. */
export class DeliveryPage {
  @ApiProperty({ type: () => [Delivery] })
  items: Delivery[];

  @ApiPropertyOptional({ type: 'string', nullable: true, description: 'Pass as `cursor` for the next page' })
  nextCursor: string | null;
}
