import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { DeliveryContext } from '../delivery/delivery-context';
import type { IngestOutcome } from '../delivery/ingest-outcome';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { dedupeKey } from '../protocol/dedupe-key';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { fileKeyOf, reduceFile, reduceTask } from '../tasks/task-state.reducer';
import type { FileState, TaskState } from '../tasks/task-state.reducer';
import type { TaskStatus } from '../tasks/task-status';
import type { FileStatus } from '../tasks/task-status';
import { WriteTransactions } from '../tasks/write-transactions';
import { DeliveryWorker } from '../delivery/delivery-worker.service';

const TASK_COLUMNS =
  'task_id, project_id, publish_domain, app, stream, record_format, status, error_message, last_event_type, last_event_at';
const FILE_COLUMNS =
  'id, status, download_url, asset_id, file_size, record_duration, start_time, end_time, width, height';

/**
 * Stores one callback and its effects in a single transaction: create-or-lock the task row, drop
 * duplicates, store the callback, reduce the task and file state, write the transition and the delivery
 * record that hands it to the app's handlers after commit. Any storage error becomes a 503, so Huawei
 * sends the callback again; nothing answered 200 is lost.
 *
 * Statements are hand-written and parameterised (the same text each time, so prepared statements are
 * reused): TypeORM's query building was the largest cost of this hot path.
 *
 * @example
 * const outcome = await ingest.ingest(dto, rawBody);
 */
@Injectable()
export class IngestService {
  constructor(
    private readonly writes: WriteTransactions,
    private readonly deliveries: DeliveryWorker,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  async ingest(callback: RecordingCallbackDto, raw: Record<string, unknown>): Promise<IngestOutcome> {
    const receivedAt = new Date(this.options.now());
    const key = dedupeKey(raw);
    const { auth_sign: _omitted, ...payload } = raw;
    const payloadJson = JSON.stringify(payload);
    // A storage failure is a typed error (503, or 400 for a refused value). Usually nothing was stored; if
    // the connection broke during COMMIT it was, and the resend is answered "duplicate". Either way
    // sending it again is safe.
    return this.writes.forRequest((em) => this.apply(em, callback, payloadJson, key, receivedAt), true);
  }

  private async apply(
    em: EntityManager,
    callback: RecordingCallbackDto,
    payloadJson: string,
    key: string,
    receivedAt: Date,
  ): Promise<IngestOutcome> {
    const w = this.writes;
    const taskId = callback.task_id;
    const at = w.time(receivedAt);
    // Create-if-missing and lock in one statement: the no-op DO UPDATE (of a column no index holds) takes
    // the row lock on PostgreSQL, which DO NOTHING would not, and returns the current row. Every callback
    // of a task serialises on this row, which makes the dedupe below race-free and keeps callback ids in
    // the order the state was reduced.
    const [row] = await w.rows(
      em,
      `INSERT INTO recording_tasks (task_id, publish_domain, app, stream, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (task_id) DO UPDATE SET updated_at = recording_tasks.updated_at
       RETURNING ${TASK_COLUMNS}`,
      [taskId, callback.publish_domain, callback.app, callback.stream, at, at],
    );

    // Keys are chosen by publish_domain, so a callback signed for one domain must not touch another
    // domain's task: a task keeps the domain, app and stream of its first callback.
    if (row.status !== null) {
      const fields = (['publish_domain', 'app', 'stream'] as const)
        .filter((f) => row[f] !== callback[f])
        .map((field) => ({ field, given: callback[field], stored: row[field] as string }));
      if (fields.length) return { result: 'mismatch', fields };
    }

    // Most callbacks are new: try the insert, and look up the stored one only when the key exists.
    const file = fileKeyOf(callback);
    const [stored] = await w.rows<{ id: number }>(
      em,
      `INSERT INTO recording_callbacks (dedupe_key, task_id, event_type, job_id, publish_domain, payload, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [key, taskId, callback.event_type, file?.jobId ?? null, callback.publish_domain, payloadJson, at],
    );
    if (!stored) {
      const [duplicate] = await w.rows<{ id: number }>(em, 'SELECT id FROM recording_callbacks WHERE dedupe_key = ?', [
        key,
      ]);
      // Callbacks are never deleted, so the conflicting row is there; say so plainly if it is not.
      if (!duplicate) throw new Error(`callback with dedupe key ${key} conflicted but cannot be read`);
      return { result: 'duplicate', callbackId: Number(duplicate.id) };
    }
    const callbackId = Number(stored.id);

    const prev: TaskState | undefined =
      row.status === null
        ? undefined
        : {
            taskId,
            projectId: row.project_id as string | null,
            publishDomain: row.publish_domain as string,
            app: row.app as string,
            stream: row.stream as string,
            recordFormat: row.record_format as string | null,
            status: row.status as TaskStatus,
            errorMessage: row.error_message as string | null,
            lastEventType: row.last_event_type as TaskState['lastEventType'],
            lastEventAt: w.readTime(row.last_event_at)!,
          };
    const { task, transition } = reduceTask(prev, callback, receivedAt);
    await w.rows(
      em,
      `UPDATE recording_tasks SET project_id = ?, record_format = ?, status = ?, error_message = ?, last_event_type = ?,
         last_event_at = ?, stalled_at = NULL, updated_at = ? WHERE task_id = ?`,
      [
        task.projectId,
        task.recordFormat,
        task.status,
        task.errorMessage,
        task.lastEventType,
        w.time(task.lastEventAt),
        at,
        taskId,
      ],
    );

    const fileState = file ? await this.applyFile(em, callback, file, at) : null;
    if (transition) {
      await w.rows(
        em,
        `INSERT INTO recording_task_transitions (task_id, from_status, to_status, event_type, job_id, callback_id, at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [taskId, transition.fromStatus, transition.toStatus, transition.eventType, transition.jobId, callbackId, at],
      );
    }
    const context: DeliveryContext = { task, file: fileState, transition, at: receivedAt };
    const delivery = await this.deliveries.store(em, {
      callbackId,
      taskId,
      eventType: callback.event_type,
      context,
      callback,
    });
    return { result: 'accepted', callbackId, delivery };
  }

  private async applyFile(
    em: EntityManager,
    callback: RecordingCallbackDto,
    key: { jobId: string; recordFormat: string },
    at: Date | string | null,
  ): Promise<FileState> {
    const w = this.writes;
    const [row] = await w.rows(
      em,
      `SELECT ${FILE_COLUMNS} FROM recording_files WHERE task_id = ? AND job_id = ? AND record_format = ?`,
      [callback.task_id, key.jobId, key.recordFormat],
    );
    const prev: FileState | undefined = row && {
      ...key,
      status: row.status as FileStatus,
      downloadUrl: row.download_url as string | null,
      assetId: row.asset_id as string | null,
      fileSize: row.file_size === null ? null : Number(row.file_size),
      recordDuration: row.record_duration as number | null,
      startTime: w.readTime(row.start_time),
      endTime: w.readTime(row.end_time),
      width: row.width as number | null,
      height: row.height as number | null,
    };
    const next = reduceFile(prev, callback)!;
    if (next === prev) return next;
    const values = [
      next.status,
      next.downloadUrl,
      next.assetId,
      next.fileSize,
      next.recordDuration,
      w.time(next.startTime),
      w.time(next.endTime),
      next.width,
      next.height,
      at,
    ];
    if (row) {
      await w.rows(
        em,
        `UPDATE recording_files SET status = ?, download_url = ?, asset_id = ?, file_size = ?, record_duration = ?,
           start_time = ?, end_time = ?, width = ?, height = ?, updated_at = ? WHERE id = ?`,
        [...values, row.id],
      );
    } else {
      await w.rows(
        em,
        `INSERT INTO recording_files (status, download_url, asset_id, file_size, record_duration, start_time, end_time,
           width, height, updated_at, created_at, task_id, job_id, record_format)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [...values, at, callback.task_id, key.jobId, key.recordFormat],
      );
    }
    return next;
  }
}
