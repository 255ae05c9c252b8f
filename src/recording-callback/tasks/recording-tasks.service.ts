import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { In, IsNull, Not } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { isStorableText } from '../protocol/storable-text';
import { ListTasksQuery } from './list-tasks.query';
import { RecordingFileEntity } from './recording-file.entity';
import { RecordingTaskEntity } from './recording-task.entity';
import { decodeTaskCursor, encodeTaskCursor } from './task-cursor';
import { TaskTransitionEntity } from './task-transition.entity';
import { WriteTransactions } from './write-transactions';
import { toTaskView, toTransitionView } from './task.view';
import type { RecordingTaskView, TaskTransitionView } from './task.view';

/**
 * Read side: one task with its files, filtered pages of tasks in a stable keyset order, and a task's
 * status history. Newest tasks come first; a task created while a client pages never shifts a page.
 *
 * @example
 * const { items, nextCursor } = await tasks.list({ status: TaskStatus.Recording, limit: 50 });
 */
@Injectable()
export class RecordingTasksService {
  constructor(private readonly db: WriteTransactions) {}

  async get(taskId: string): Promise<RecordingTaskView> {
    // An id no database can store names no task; asking PostgreSQL would be an error, not a miss.
    const found = isStorableText(taskId) ? await this.db.forRequest((em) => this.load(em, taskId)) : undefined;
    if (!found) {
      throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: `no recording task ${taskId}` });
    }
    return found;
  }

  async list(query: ListTasksQuery): Promise<{ items: RecordingTaskView[]; nextCursor: string | null }> {
    const limit = query.limit ?? 20;
    const cursor = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    if (query.cursor !== undefined && !cursor) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'cursor is not valid',
        fields: { cursor: ['cursor is not valid'] },
      });
    }
    return this.db.forRequest(async (em) => {
      const qb = em.getRepository(RecordingTaskEntity).createQueryBuilder('t').where('t.status IS NOT NULL');
      if (query.publishDomain !== undefined) {
        qb.andWhere('t.publish_domain = :publishDomain', { publishDomain: query.publishDomain });
      }
      if (query.app !== undefined) qb.andWhere('t.app = :app', { app: query.app });
      if (query.stream !== undefined) qb.andWhere('t.stream = :stream', { stream: query.stream });
      if (query.status !== undefined) qb.andWhere('t.status = :status', { status: query.status });
      if (cursor) {
        // A row value, so both databases search the index range instead of filtering every row before it.
        qb.andWhere('(t.created_at, t.task_id) < (:cAt, :cId)', {
          cAt: cursor.createdAt,
          cId: cursor.taskId,
        });
      }
      const rows = await qb
        .orderBy('t.created_at', 'DESC')
        .addOrderBy('t.task_id', 'DESC')
        .limit(limit + 1)
        .getMany();
      const page = rows.slice(0, limit);
      const files = page.length
        ? await em
            .getRepository(RecordingFileEntity)
            .find({ where: { taskId: In(page.map((t) => t.taskId)) }, order: { id: 'ASC' } })
        : [];
      const items = page.map((t) =>
        toTaskView(
          t,
          files.filter((f) => f.taskId === t.taskId),
        ),
      );
      return { items, nextCursor: rows.length > limit ? encodeTaskCursor(page[page.length - 1]) : null };
    });
  }

  async history(taskId: string): Promise<{ items: TaskTransitionView[] }> {
    await this.get(taskId);
    const rows = await this.db.forRequest((em) =>
      em.getRepository(TaskTransitionEntity).find({ where: { taskId }, order: { id: 'ASC' } }),
    );
    return { items: rows.map(toTransitionView) };
  }

  private async load(em: EntityManager, taskId: string): Promise<RecordingTaskView | undefined> {
    const task = await em.getRepository(RecordingTaskEntity).findOne({ where: { taskId, status: Not(IsNull()) } });
    if (!task) return undefined;
    const files = await em.getRepository(RecordingFileEntity).find({ where: { taskId }, order: { id: 'ASC' } });
    return toTaskView(task, files);
  }
}
