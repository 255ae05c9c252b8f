import { Injectable, NotFoundException } from '@nestjs/common';
import { InvalidFieldsException } from '../errors/invalid-fields.exception';
import { In, IsNull, Not } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { isStorableText } from '../protocol/storable-text';
import { ListTasksQuery } from './list-tasks.query';
import { RecordingFileEntity } from './recording-file.entity';
import { RecordingTaskEntity } from './recording-task.entity';
import { decodeTaskCursor, encodeTaskCursor } from './task-cursor';
import { taskPage } from './task.sql';
import { TaskTransitionEntity } from './task-transition.entity';
import { DatabaseGateway } from '../storage/database.gateway';
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
  constructor(private readonly db: DatabaseGateway) {}

  async get(taskId: string): Promise<RecordingTaskView> {
    // An id no database can store names no task; asking PostgreSQL would be an error, not a miss.
    const found = isStorableText(taskId) ? await this.db.read((em) => this.load(em, taskId)) : undefined;
    if (!found) {
      throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: `no recording task ${taskId}` });
    }
    return found;
  }

  async list(query: ListTasksQuery): Promise<{ items: RecordingTaskView[]; nextCursor: string | null }> {
    const limit = query.limit ?? 20;
    const cursor = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    if (query.cursor !== undefined && !cursor) {
      throw InvalidFieldsException.field('cursor', 'cursor is not valid');
    }
    return this.db.read(async (em) => {
      const rows = await taskPage(em, query, cursor, limit + 1);
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
    const rows = await this.db.read((em) =>
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
