import { BadRequestException, Controller, Get, Param, Query, Type, UseGuards, ValidationPipe } from '@nestjs/common';
import { ListTasksQuery } from './list-tasks.query';
import { QueryAccessGuard } from './query-access.guard';
import { RecordingTasksService } from './recording-tasks.service';
import type { RecordingTaskView, TaskTransitionView } from './task.view';

const queryPipe = new ValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  exceptionFactory: (errors) => {
    const fields = Object.fromEntries(errors.map((e) => [e.property, Object.values(e.constraints ?? {})]));
    return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `invalid query: ${Object.keys(fields).join(', ')}`, fields });
  },
});

/**
 * Creates the task query controller at the configured path, guarded by the app's `queryGuards`.
 *
 * @example
 * const Controller = createRecordingTasksController('recording-tasks');
 */
export function createRecordingTasksController(path: string): Type<unknown> {
  @Controller(path)
  @UseGuards(QueryAccessGuard)
  class RecordingTasksController {
    constructor(private readonly tasks: RecordingTasksService) {}

    @Get()
    list(@Query(queryPipe) query: ListTasksQuery): Promise<{ items: RecordingTaskView[]; nextCursor: string | null }> {
      return this.tasks.list(query);
    }

    @Get(':taskId')
    get(@Param('taskId') taskId: string): Promise<RecordingTaskView> {
      return this.tasks.get(taskId);
    }

    @Get(':taskId/transitions')
    transitions(@Param('taskId') taskId: string): Promise<{ items: TaskTransitionView[] }> {
      return this.tasks.history(taskId);
    }
  }
  return RecordingTasksController;
}
