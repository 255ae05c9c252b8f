import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { DeliveryContext } from '../delivery/delivery-context';
import { DeliveryEntity } from '../delivery/delivery.entity';
import { StoredCallbackEntity } from '../delivery/stored-callback.entity';
import type { IngestOutcome } from '../delivery/ingest-outcome';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { dedupeKey } from '../protocol/dedupe-key';
import { InjectRecordingCallbackOptions } from '../recording-callback.module-definition';
import type { ResolvedRecordingCallbackOptions } from '../recording-callback.options';
import { RecordingFileEntity } from '../tasks/recording-file.entity';
import { RecordingTaskEntity } from '../tasks/recording-task.entity';
import { fileKeyOf, reduceFile, reduceTask } from '../tasks/task-state.reducer';
import type { FileState, TaskState } from '../tasks/task-state.reducer';
import { TaskTransitionEntity } from '../tasks/task-transition.entity';
import { WriteTransactions } from '../tasks/write-transactions';

/**
 * Stores one callback and its effects in a single transaction: lock (or create) the task row, drop
 * duplicates, store the callback, reduce the task and file state, write the transition and the
 * delivery record that hands it to the app's handlers after commit. Any storage
 * error becomes a 503, so Huawei sends the callback again; nothing answered 200 is lost.
 *
 * @example
 * const outcome = await ingest.ingest(dto, rawBody);
 */
@Injectable()
export class IngestService {
  private readonly logger = new Logger('RecordingCallback');

  constructor(
    private readonly writes: WriteTransactions,
    @InjectRecordingCallbackOptions() private readonly options: ResolvedRecordingCallbackOptions,
  ) {}

  async ingest(callback: RecordingCallbackDto, raw: Record<string, unknown>): Promise<IngestOutcome> {
    const receivedAt = new Date(this.options.now());
    const key = dedupeKey(raw);
    const { auth_sign: _omitted, ...payload } = raw;
    try {
      return await this.writes.run((em) => this.apply(em, callback, payload, key, receivedAt));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error(`storing callback for task ${callback.task_id} failed: ${message}`);
      throw new ServiceUnavailableException({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'storage unavailable; the callback was not stored, send it again',
      });
    }
  }

  private async apply(
    em: EntityManager,
    callback: RecordingCallbackDto,
    payload: Record<string, unknown>,
    key: string,
    receivedAt: Date,
  ): Promise<IngestOutcome> {
    const taskId = callback.task_id;
    // Create-if-missing, then lock: every callback of a task serialises on this row, which makes the
    // dedupe check below race-free and keeps callback ids in the order the task state was reduced.
    await em
      .createQueryBuilder()
      .insert()
      .into(RecordingTaskEntity)
      .values({
        taskId,
        publishDomain: callback.publish_domain,
        app: callback.app,
        stream: callback.stream,
        status: null,
        createdAt: receivedAt,
        updatedAt: receivedAt,
      })
      .orIgnore()
      .execute();
    const row = await em.getRepository(RecordingTaskEntity).findOneOrFail({
      where: { taskId },
      lock: this.writes.concurrent ? { mode: 'pessimistic_write' } : undefined,
    });

    const duplicate = await em.getRepository(StoredCallbackEntity).findOne({ where: { dedupeKey: key }, select: { id: true } });
    if (duplicate) return { result: 'duplicate', callbackId: duplicate.id };

    const inserted = await em.getRepository(StoredCallbackEntity).insert({
      dedupeKey: key,
      taskId,
      eventType: callback.event_type,
      jobId: fileKeyOf(callback)?.jobId ?? null,
      publishDomain: callback.publish_domain,
      payload: payload as never, // TypeORM types jsonb values as deep-partial entities
      receivedAt,
    });
    const callbackId = Number(inserted.identifiers[0].id);

    const prev: TaskState | undefined =
      row.status === null
        ? undefined
        : {
            taskId: row.taskId,
            projectId: row.projectId,
            publishDomain: row.publishDomain,
            app: row.app,
            stream: row.stream,
            recordFormat: row.recordFormat,
            status: row.status,
            errorMessage: row.errorMessage,
            lastEventType: row.lastEventType!,
            lastEventAt: row.lastEventAt!,
          };
    const { task, transition } = reduceTask(prev, callback, receivedAt);
    await em.getRepository(RecordingTaskEntity).update(
      { taskId },
      {
        projectId: task.projectId,
        recordFormat: task.recordFormat,
        status: task.status,
        errorMessage: task.errorMessage,
        lastEventType: task.lastEventType,
        lastEventAt: task.lastEventAt,
        stalledAt: null,
        updatedAt: receivedAt,
      },
    );

    const file = await this.applyFile(em, callback, receivedAt);

    if (transition) {
      await em.getRepository(TaskTransitionEntity).insert({ taskId, ...transition, callbackId, at: receivedAt });
    }
    const context: DeliveryContext = { task, file, transition, at: receivedAt };
    await em.getRepository(DeliveryEntity).insert({
      callbackId,
      taskId,
      eventType: callback.event_type,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: receivedAt.getTime(),
      succeededHandlers: [],
      context: context as never, // stored as JSON; TypeORM types jsonb values as deep-partial entities
      createdAt: receivedAt.getTime(),
      updatedAt: receivedAt.getTime(),
    });
    return { result: 'accepted', callbackId, callback, task, file, transition, receivedAt };
  }

  private async applyFile(em: EntityManager, callback: RecordingCallbackDto, now: Date): Promise<FileState | null> {
    const fileKey = fileKeyOf(callback);
    if (!fileKey) return null;
    const repo = em.getRepository(RecordingFileEntity);
    const row = await repo.findOne({ where: { taskId: callback.task_id, ...fileKey } });
    const prev: FileState | undefined = row
      ? {
          jobId: row.jobId,
          recordFormat: row.recordFormat,
          status: row.status,
          downloadUrl: row.downloadUrl,
          assetId: row.assetId,
          fileSize: row.fileSize,
          recordDuration: row.recordDuration,
          startTime: row.startTime,
          endTime: row.endTime,
          width: row.width,
          height: row.height,
        }
      : undefined;
    const next = reduceFile(prev, callback)!;
    if (!row) await repo.insert({ taskId: callback.task_id, ...next, createdAt: now, updatedAt: now });
    else if (next !== prev) await repo.update({ id: row.id }, { ...next, updatedAt: now });
    return next;
  }
}
