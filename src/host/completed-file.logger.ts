import { Injectable, Logger } from '@nestjs/common';
import { OnRecordingEvent, RecordFileCompleteEvent, RecordingEvents, logLine } from '../recording-callback';

/**
 * Sample handler of the host app: logs each completed file. Replace it with your own handlers.
 * Task ids, URLs and names are the sender's text, so the line is written with `logLine` (escaped JSON).
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
      logLine({
        msg: 'recording file complete',
        taskId: task.taskId,
        publishDomain: task.publishDomain,
        app: task.app,
        stream: task.stream,
        jobId: file.jobId,
        recordFormat: file.recordFormat,
        downloadUrl: file.downloadUrl,
        fileSize: file.fileSize,
        recordDuration: file.recordDuration,
      }),
    );
  }
}
