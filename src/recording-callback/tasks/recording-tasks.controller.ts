import { Controller, Get, Param, Query, Type, UseFilters, UseGuards } from '@nestjs/common';
import { RecordingExceptionFilter } from '../errors/recording-exception.filter';
import {
  ApiGetRecordingTask,
  ApiListRecordingTasks,
  ApiListTaskTransitions,
  ApiRecordingTasksController,
} from '../openapi/api-docs.decorators';
import { ListTasksQuery } from './list-tasks.query';
import { NoQueryParameters } from './query-params';
import { QueryAccessGuard } from './query-access.guard';
import { RecordingTasksService } from './recording-tasks.service';
import { strictQueryPipe } from './strict-query.pipe';
import type { RecordingTaskView, TaskTransitionView } from './task.view';

/**
 * Creates the task query controller at the configured path, guarded by the app's `queryGuards`.
 *
 * @example
 * const Controller = createRecordingTasksController('recording-tasks');
 */
export function createRecordingTasksController(path: string): Type<unknown> {
  @Controller(path)
  @ApiRecordingTasksController()
  @UseGuards(QueryAccessGuard)
  @UseFilters(RecordingExceptionFilter)
  class RecordingTasksController {
    constructor(private readonly tasks: RecordingTasksService) {}

    @Get()
    @ApiListRecordingTasks()
    list(
      @Query(strictQueryPipe) query: ListTasksQuery,
    ): Promise<{ items: RecordingTaskView[]; nextCursor: string | null }> {
      return this.tasks.list(query);
    }

    @Get(':taskId')
    @ApiGetRecordingTask()
    get(
      @Param('taskId') taskId: string,
      @Query(strictQueryPipe) _query: NoQueryParameters,
    ): Promise<RecordingTaskView> {
      return this.tasks.get(taskId);
    }

    @Get(':taskId/transitions')
    @ApiListTaskTransitions()
    transitions(
      @Param('taskId') taskId: string,
      @Query(strictQueryPipe) _query: NoQueryParameters,
    ): Promise<{ items: TaskTransitionView[] }> {
      return this.tasks.history(taskId);
    }
  }
  return RecordingTasksController;
}
