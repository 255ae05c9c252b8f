import { applyDecorators } from '@nestjs/common';
import { DTO_BY_EVENT_TYPE } from '../protocol/dto/recording-callback.dto';
import { withSwagger } from '../protocol/optional-swagger';
import type { SwaggerApi } from '../protocol/optional-swagger';
import {
  CallbackAnswer,
  Delivery,
  DeliveryPage,
  ErrorAnswer,
  RecordingTask,
  RecordingTaskPage,
  SignatureErrorAnswer,
  TaskTransitionList,
  ValidationErrorAnswer,
} from './api-models';
import { CALLBACK_EXAMPLES } from './callback-examples';
import { ReconcileRequestBody, ReconcileSummaryAnswer } from './reconcile-models';

// OpenAPI documentation of the module's routes, as composite decorators so that the controllers carry
// one line each. Read by @nestjs/swagger's SwaggerModule.createDocument in the app; each is built from
// @nestjs/swagger only when it is installed (withSwagger), since it is an optional peer.

const EVENT_DTOS = Object.values(DTO_BY_EVENT_TYPE);

const unauthorizedQuery = (s: SwaggerApi) =>
  s.ApiUnauthorizedResponse({
    type: ErrorAnswer,
    description: "Refused by the app's query guards (`queryGuards`), e.g. a missing bearer token",
  });

/** Class decorator of the callback controller. */
export function ApiRecordingCallbackController(): ClassDecorator {
  return withSwagger((s) => applyDecorators(s.ApiTags('Recording callbacks'), s.ApiExtraModels(...EVENT_DTOS)));
}

/** Method decorator of `POST <callbackPath>`. */
export function ApiReceiveRecordingCallback(): MethodDecorator {
  return withSwagger((s) => {
    const mapping = Object.fromEntries(
      Object.entries(DTO_BY_EVENT_TYPE).map(([eventType, dto]) => [eventType, s.getSchemaPath(dto)]),
    );
    return applyDecorators(
      s.ApiOperation({
        summary: 'Receive a Huawei Live recording callback',
        description:
          'Huawei Cloud Live POSTs one JSON callback per recording event. The signature (`auth_sign`, ' +
          '`auth_timestamp`) is checked with the algorithm and keys of the `publish_domain`, the body is validated ' +
          'by the DTO of its `event_type`, and the callback is stored with its effect on the task in one ' +
          'transaction before the answer. 200 means stored durably; a re-sent callback is answered ' +
          '`duplicate`. Unknown extra fields are kept.',
      }),
      s.ApiBody({
        description: 'One of the five event bodies, chosen by `event_type`',
        schema: {
          oneOf: EVENT_DTOS.map((dto) => ({ $ref: s.getSchemaPath(dto) })),
          discriminator: { propertyName: 'event_type', mapping },
        },
        examples: CALLBACK_EXAMPLES,
      }),
      s.ApiOkResponse({ type: CallbackAnswer, description: 'Stored (`accepted`), or stored before (`duplicate`)' }),
      s.ApiBadRequestResponse({
        type: ValidationErrorAnswer,
        description: 'Malformed JSON, unknown `event_type`, or invalid fields (named in `fields`)',
      }),
      s.ApiUnauthorizedResponse({
        type: SignatureErrorAnswer,
        description: 'Missing, wrong or expired signature, or no key for the `publish_domain` (see `reason`)',
      }),
      s.ApiPayloadTooLargeResponse({
        type: ErrorAnswer,
        description: "Body over the app's JSON limit (64 KiB in the host app)",
      }),
      s.ApiServiceUnavailableResponse({
        type: ErrorAnswer,
        description: 'Storage unavailable: nothing was stored; Huawei (or you) should send it again',
      }),
    );
  });
}

/** Class decorator of the task query controller. */
export function ApiRecordingTasksController(): ClassDecorator {
  return withSwagger((s) => applyDecorators(s.ApiTags('Recording tasks'), unauthorizedQuery(s)));
}

/** Method decorator of `GET <tasksPath>`. */
export function ApiListRecordingTasks(): MethodDecorator {
  return withSwagger((s) =>
    applyDecorators(
      s.ApiOperation({
        summary: 'List recording tasks',
        description: 'Newest first, in a stable keyset order: no task is repeated or skipped across pages.',
      }),
      s.ApiOkResponse({ type: RecordingTaskPage }),
      s.ApiBadRequestResponse({ type: ValidationErrorAnswer, description: 'Invalid or unknown query parameters' }),
    ),
  );
}

const taskIdParam = (s: SwaggerApi) =>
  s.ApiParam({
    name: 'taskId',
    description: "Huawei's `task_id`",
    example: '51126d0ebe94b1da00d2e21a10c3b7f2',
  });

/** Method decorator of `GET <tasksPath>/:taskId`. */
export function ApiGetRecordingTask(): MethodDecorator {
  return withSwagger((s) =>
    applyDecorators(
      s.ApiOperation({ summary: 'Get one recording task with its files' }),
      taskIdParam(s),
      s.ApiOkResponse({ type: RecordingTask }),
      s.ApiNotFoundResponse({ type: ErrorAnswer, description: 'No such task' }),
    ),
  );
}

/** Method decorator of `GET <tasksPath>/:taskId/transitions`. */
export function ApiListTaskTransitions(): MethodDecorator {
  return withSwagger((s) =>
    applyDecorators(
      s.ApiOperation({ summary: "A task's status changes, oldest first" }),
      taskIdParam(s),
      s.ApiOkResponse({ type: TaskTransitionList }),
      s.ApiNotFoundResponse({ type: ErrorAnswer, description: 'No such task' }),
    ),
  );
}

/** Class decorator of the delivery operations controller. */
export function ApiDeliveriesController(): ClassDecorator {
  return withSwagger((s) => applyDecorators(s.ApiTags('Recording deliveries'), unauthorizedQuery(s)));
}

/** Method decorator of `GET <callbackPath>/deliveries`. */
export function ApiListDeliveries(): MethodDecorator {
  return withSwagger((s) =>
    applyDecorators(
      s.ApiOperation({
        summary: "List deliveries of callbacks to the app's handlers",
        description:
          'Newest first. `status=dead` lists the dead letters; `status=failed` the ones waiting for a retry.',
      }),
      s.ApiOkResponse({ type: DeliveryPage }),
      s.ApiBadRequestResponse({ type: ValidationErrorAnswer, description: 'Invalid or unknown query parameters' }),
    ),
  );
}

/** Method decorator of `POST <callbackPath>/deliveries/:id/replay`. */
export function ApiReplayDelivery(): MethodDecorator {
  return withSwagger((s) =>
    applyDecorators(
      s.ApiOperation({
        summary: 'Replay a delivery',
        description:
          'Makes the delivery due now with a fresh attempt count. Handlers that already succeeded are skipped, ' +
          'unless the delivery was fully delivered, in which case every handler gets it again.',
      }),
      s.ApiParam({ name: 'id', type: 'integer', example: 7 }),
      s.ApiAcceptedResponse({ type: Delivery }),
      s.ApiBadRequestResponse({ type: ErrorAnswer, description: '`id` is not a number' }),
      s.ApiForbiddenResponse({
        type: ErrorAnswer,
        description: 'No `operationGuards` (nor `queryGuards`) configured: replay is never open, or a guard refused',
      }),
      s.ApiNotFoundResponse({ type: ErrorAnswer, description: 'No such delivery' }),
    ),
  );
}

/** Method decorator of `POST <callbackPath>/reconcile`. */
export function ApiReconcile(): MethodDecorator {
  return withSwagger((s) =>
    applyDecorators(
      s.ApiTags('Recording deliveries'),
      s.ApiOperation({
        summary: "Reconcile stored files with Huawei Live's recording listing",
        description:
          'Runs one window now and answers its summary once it is done. Files Huawei lists and the database ' +
          'lacks are stored and delivered as `recording.file.recovered`.',
      }),
      s.ApiBody({ type: ReconcileRequestBody, required: false }),
      s.ApiOkResponse({ type: ReconcileSummaryAnswer }),
      s.ApiBadRequestResponse({ type: ValidationErrorAnswer, description: 'Invalid or unknown fields' }),
      s.ApiForbiddenResponse({
        type: ErrorAnswer,
        description: 'No `operationGuards` (nor `queryGuards`) configured, or a guard refused',
      }),
      s.ApiNotFoundResponse({ type: ErrorAnswer, description: 'Reconciliation is not enabled' }),
      s.ApiConflictResponse({ type: ErrorAnswer, description: 'Another run (on any instance) holds the window' }),
    ),
  );
}
