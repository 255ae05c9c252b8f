import { Type } from '@nestjs/common';
import { RecordingEventType } from '../recording-event-type';
import { RecordCallbackBaseDto } from './record-callback-base.dto';
import { RecordFailedDto } from './record-failed.dto';
import { RecordFileCompleteDto } from './record-file-complete.dto';
import { RecordNewFileStartDto } from './record-new-file-start.dto';
import { RecordOverDto } from './record-over.dto';
import { RecordStartDto } from './record-start.dto';

/**
 * Any validated recording callback; narrow it on `event_type`.
 *
 * @example
 * if (dto.event_type === RecordingEventType.FileComplete) dto.download_url;
 */
export type RecordingCallbackDto =
  RecordStartDto | RecordNewFileStartDto | RecordFileCompleteDto | RecordOverDto | RecordFailedDto;

/**
 * The DTO class that validates each event type.
 *
 * @example
 * const cls = DTO_BY_EVENT_TYPE[RecordingEventType.Over]; // RecordOverDto
 */
export const DTO_BY_EVENT_TYPE: Readonly<Record<RecordingEventType, Type<RecordCallbackBaseDto>>> = {
  [RecordingEventType.Start]: RecordStartDto,
  [RecordingEventType.NewFileStart]: RecordNewFileStartDto,
  [RecordingEventType.FileComplete]: RecordFileCompleteDto,
  [RecordingEventType.Over]: RecordOverDto,
  [RecordingEventType.Failed]: RecordFailedDto,
};
