import fc from 'fast-check';
import type { RecordingCallbackDto } from '../protocol/dto/recording-callback.dto';
import { RecordFormat, RecordingEventType as E } from '../protocol/recording-event-type';
import { fileKeyOf, reduceFile, reduceTask } from './task-state.reducer';
import type { FileState, TaskState, TaskTransition } from './task-state.reducer';
import { FileStatus, TaskStatus, statusOfEvent } from './task-status';

const RANK: Record<TaskStatus, number> = { RECORDING: 0, OVER: 1, FAILED: 2 };
const T0 = Date.UTC(2020, 2, 8, 14, 0, 0);
const TASK = { task_id: 'task-1', project_id: 'p-1', publish_domain: 'push.example.com', app: 'live', stream: 's' };

function event(eventType: E, fields: Record<string, unknown> = {}): RecordingCallbackDto {
  return { ...TASK, event_type: eventType, ...fields } as RecordingCallbackDto;
}

function fileEvent(eventType: E.NewFileStart | E.FileComplete, jobId: string, format: RecordFormat, details = {}) {
  const complete = eventType === E.FileComplete ? { download_url: `https://obs.example.com/${jobId}.${format}` } : {};
  return event(eventType, { job_id: jobId, record_format: format, ...complete, ...details });
}

interface Folded {
  task: TaskState;
  files: Map<string, FileState>;
  statuses: TaskStatus[];
  transitions: TaskTransition[];
}

const fileId = (key: { jobId: string; recordFormat: string }) => `${key.jobId}/${key.recordFormat}`;

/** Applies the events in arrival order, one second apart, as the ingest service would. */
function fold(events: RecordingCallbackDto[]): Folded {
  let task: TaskState | undefined;
  const files = new Map<string, FileState>();
  const statuses: TaskStatus[] = [];
  const transitions: TaskTransition[] = [];
  events.forEach((e, i) => {
    const result = reduceTask(task, e, new Date(T0 + i * 1000));
    task = result.task;
    statuses.push(task.status);
    if (result.transition) transitions.push(result.transition);
    const key = fileKeyOf(e);
    if (key) files.set(fileId(key), reduceFile(files.get(fileId(key)), e)!);
  });
  return { task: task!, files, statuses, transitions };
}

const huaweiTime = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 19) + 'Z');

const completeDetails = fc.record(
  {
    asset_id: fc.string({ minLength: 1 }),
    file_size: fc.nat(),
    record_duration: fc.nat(),
    start_time: huaweiTime,
    end_time: huaweiTime,
    width: fc.nat(4096),
    height: fc.nat(4096),
  },
  { requiredKeys: [] },
);

type Ending = 'OVER' | 'FAILED' | 'OVER+FAILED';

interface Lifecycle {
  events: RecordingCallbackDto[];
  ending: Ending;
  errorMessage: string | undefined;
  expectedFiles: Map<string, FileState>;
}

/** RECORD_START, a NEW_FILE_START per (job, format) and maybe its FILE_COMPLETE, then the ending; some re-sent. */
const lifecycle: fc.Arbitrary<Lifecycle> = fc
  .record({
    jobCount: fc.integer({ min: 1, max: 3 }),
    formats: fc.subarray(Object.values(RecordFormat), { minLength: 1 }),
    completes: fc.array(fc.option(completeDetails, { nil: undefined }), { minLength: 9, maxLength: 9 }),
    ending: fc.constantFrom<Ending>('OVER', 'FAILED', 'OVER+FAILED'),
    errorMessage: fc.option(fc.string(), { nil: undefined }),
    resent: fc.array(fc.nat(), { maxLength: 3 }),
  })
  .map(({ jobCount, formats, completes, ending, errorMessage, resent }) => {
    const events = [event(E.Start)];
    const expectedFiles = new Map<string, FileState>();
    for (let j = 0; j < jobCount; j++) {
      for (const format of formats) {
        const jobId = `job-${j}`;
        const details = completes[j * 3 + formats.indexOf(format)];
        events.push(fileEvent(E.NewFileStart, jobId, format));
        const expected: FileState = {
          jobId,
          recordFormat: format,
          status: FileStatus.Recording,
          downloadUrl: null,
          assetId: null,
          fileSize: null,
          recordDuration: null,
          startTime: null,
          endTime: null,
          width: null,
          height: null,
        };
        if (details) {
          const complete = fileEvent(E.FileComplete, jobId, format, details);
          events.push(complete);
          Object.assign(expected, {
            status: FileStatus.Complete,
            downloadUrl: complete.download_url,
            assetId: details.asset_id ?? null,
            fileSize: details.file_size ?? null,
            recordDuration: details.record_duration ?? null,
            startTime: details.start_time ? new Date(details.start_time) : null,
            endTime: details.end_time ? new Date(details.end_time) : null,
            width: details.width ?? null,
            height: details.height ?? null,
          });
        }
        expectedFiles.set(`${jobId}/${format}`, expected);
      }
    }
    if (ending !== 'FAILED') events.push(event(E.Over));
    if (ending !== 'OVER')
      events.push(event(E.Failed, errorMessage === undefined ? {} : { error_message: errorMessage }));
    for (const i of resent) events.push(events[i % events.length]);
    return { events, ending, errorMessage, expectedFiles };
  });

const lifecycleAndArrivalOrder = lifecycle.chain((l) =>
  fc.tuple(fc.constant(l), fc.shuffledSubarray(l.events, { minLength: l.events.length, maxLength: l.events.length })),
);

describe('reduceTask / reduceFile', () => {
  describe('properties over any arrival order of a lifecycle', () => {
    it('reaches the same status, error message and files in every order', () => {
      fc.assert(
        fc.property(lifecycleAndArrivalOrder, ([l, arrival]) => {
          const final = fold(arrival);
          expect(final.task.status).toBe(l.ending === 'OVER' ? TaskStatus.Over : TaskStatus.Failed);
          expect(final.task.errorMessage).toBe(l.ending === 'OVER' ? null : (l.errorMessage ?? null));
          expect(final.files).toEqual(l.expectedFiles);
          const inOrder = fold(l.events);
          expect(final.task.status).toBe(inOrder.task.status);
          expect(final.task.errorMessage).toBe(inOrder.task.errorMessage);
          expect(final.files).toEqual(inOrder.files);
        }),
      );
    });

    it('never moves the status down', () => {
      fc.assert(
        fc.property(lifecycleAndArrivalOrder, ([, arrival]) => {
          const { statuses } = fold(arrival);
          for (let i = 1; i < statuses.length; i++) {
            expect(RANK[statuses[i]]).toBeGreaterThanOrEqual(RANK[statuses[i - 1]]);
          }
        }),
      );
    });

    it('records transitions as a strictly increasing chain from null to the final status', () => {
      fc.assert(
        fc.property(lifecycleAndArrivalOrder, ([, arrival]) => {
          const { task, transitions, statuses } = fold(arrival);
          expect(transitions.length).toBeGreaterThan(0);
          expect(transitions[0].fromStatus).toBeNull();
          transitions.forEach((t, i) => {
            if (i > 0) expect(t.fromStatus).toBe(transitions[i - 1].toStatus);
            if (t.fromStatus !== null) expect(RANK[t.toStatus]).toBeGreaterThan(RANK[t.fromStatus]);
            expect(t.toStatus).toBe(statusOfEvent(t.eventType));
          });
          expect(transitions.at(-1)!.toStatus).toBe(task.status);
          expect(transitions.length).toBe(new Set(statuses).size);
        }),
      );
    });

    it('names the job of a file event that caused a transition', () => {
      fc.assert(
        fc.property(lifecycleAndArrivalOrder, ([, arrival]) => {
          const first = reduceTask(undefined, arrival[0], new Date(T0)).transition!;
          expect(first.jobId).toBe(fileKeyOf(arrival[0])?.jobId ?? null);
        }),
      );
    });
  });

  describe('examples', () => {
    const failed = event(E.Failed, { error_message: 'upload to OBS failed' });

    it.each([
      ['FAILED then OVER', [event(E.Start), failed, event(E.Over)]],
      ['OVER then FAILED', [event(E.Start), event(E.Over), failed]],
    ])('%s ends FAILED with the error message', (_order, events) => {
      const { task, transitions } = fold(events);
      expect(task.status).toBe(TaskStatus.Failed);
      expect(task.errorMessage).toBe('upload to OBS failed');
      expect(transitions.map((t) => [t.fromStatus, t.toStatus])).toEqual(
        events[1] === failed
          ? [
              [null, 'RECORDING'],
              ['RECORDING', 'FAILED'],
            ]
          : [
              [null, 'RECORDING'],
              ['RECORDING', 'OVER'],
              ['OVER', 'FAILED'],
            ],
      );
    });

    it('applies a late FILE_COMPLETE after OVER to the file and keeps the task OVER', () => {
      const over = fold([event(E.Start), fileEvent(E.NewFileStart, 'job-1', RecordFormat.Mp4), event(E.Over)]);
      const late = fileEvent(E.FileComplete, 'job-1', RecordFormat.Mp4, { file_size: 10 });
      const { task, transition } = reduceTask(over.task, late, new Date(T0 + 60_000));
      expect(task.status).toBe(TaskStatus.Over);
      expect(transition).toBeNull();
      const file = reduceFile(over.files.get('job-1/MP4'), late)!;
      expect(file).toMatchObject({ status: FileStatus.Complete, fileSize: 10, downloadUrl: late.download_url });
    });

    it('keeps a FILE_COMPLETE’s details when its NEW_FILE_START arrives later', () => {
      const complete = fileEvent(E.FileComplete, 'job-1', RecordFormat.Hls, {
        asset_id: 'asset-1',
        file_size: 3957964,
        record_duration: 120,
        start_time: '2020-03-08T14:10:25Z',
        end_time: '2020-03-08T14:12:25Z',
        width: 1280,
        height: 720,
      });
      const file = reduceFile(reduceFile(undefined, complete), fileEvent(E.NewFileStart, 'job-1', RecordFormat.Hls));
      expect(file).toEqual({
        jobId: 'job-1',
        recordFormat: 'HLS',
        status: FileStatus.Complete,
        downloadUrl: 'https://obs.example.com/job-1.HLS',
        assetId: 'asset-1',
        fileSize: 3957964,
        recordDuration: 120,
        startTime: new Date('2020-03-08T14:10:25Z'),
        endTime: new Date('2020-03-08T14:12:25Z'),
        width: 1280,
        height: 720,
      });
    });

    it('leaves files alone on task-level events', () => {
      const file = reduceFile(undefined, fileEvent(E.NewFileStart, 'job-1', RecordFormat.Flv));
      for (const type of [E.Start, E.Over, E.Failed]) {
        expect(reduceFile(file, event(type))).toBe(file);
        expect(reduceFile(undefined, event(type))).toBeUndefined();
      }
    });

    it('keeps the task’s identity from the stored state and a null error message when FAILED has none', () => {
      const { task } = fold([event(E.Start), event(E.Failed)]);
      expect(task).toMatchObject({
        taskId: 'task-1',
        projectId: 'p-1',
        publishDomain: 'push.example.com',
        app: 'live',
        stream: 's',
        status: TaskStatus.Failed,
        errorMessage: null,
      });
    });

    it('tracks the latest received event in lastEventType and lastEventAt', () => {
      const later = new Date(T0 + 5000);
      const { task } = reduceTask(undefined, event(E.Over), later);
      const afterEarlier = reduceTask(task, event(E.Start), new Date(T0)).task;
      expect(afterEarlier).toMatchObject({ lastEventType: E.Over, lastEventAt: later, status: TaskStatus.Over });
      const afterLater = reduceTask(task, event(E.Failed), new Date(T0 + 9000)).task;
      expect(afterLater).toMatchObject({ lastEventType: E.Failed, lastEventAt: new Date(T0 + 9000) });
    });
  });
});
