import { Injectable, Logger } from '@nestjs/common';
import { OnRecordingEvent, RecordFileCompleteEvent, RecordingEvents } from '../recording-callback';

/**
 * Sample handler of the host app: logs each completed file. Replace it with your own handlers.
 *
 * @example
 * @OnRecordingEvent(RecordingEvents.FileComplete) onFile(e: RecordFileCompleteEvent) {}
 */
@Injectable()
export class CompletedFileLogger {
  private readonly logger = new Logger('CompletedFiles');

  @OnRecordingEvent(RecordingEvents.FileComplete)
  onFileComplete(event: RecordFileCompleteEvent): void {
    const { file, task } = event;
    this.logger.log(
      `task ${task.taskId} (${task.publishDomain}/${task.app}/${task.stream}) file ${file.jobId} ${file.recordFormat} ` +
        `complete: ${file.downloadUrl} (${file.fileSize ?? '?'} bytes, ${file.recordDuration ?? '?'} s)`,
    );
  }
}
