import { RecordingEventType } from '../protocol/recording-event-type';
import type { RecordingFileEntity } from './recording-file.entity';
import type { RecordingTaskEntity } from './recording-task.entity';
import { FileStatus, TaskStatus } from './task-status';
import { toTaskState } from './task.store';
import { toTaskView } from './task.view';

const row: RecordingTaskEntity = {
  taskId: 'task-1',
  projectId: 'project-1',
  publishDomain: 'push.example.com',
  app: 'live',
  stream: 'room-9',
  recordFormat: 'MP4',
  status: TaskStatus.Over,
  errorMessage: null,
  lastEventType: RecordingEventType.Over,
  lastEventAt: new Date('2026-12-01T10:05:00.000Z'),
  stalledAt: new Date('2026-12-01T10:04:00.000Z'),
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
  updatedAt: new Date('2026-12-01T10:05:00.500Z'),
};

const file: RecordingFileEntity = {
  id: 7,
  taskId: 'task-1',
  jobId: 'job-1',
  recordFormat: 'MP4',
  status: FileStatus.Complete,
  downloadUrl: 'https://obs.example.com/a.mp4',
  assetId: null,
  fileSize: 1024,
  recordDuration: 60,
  startTime: new Date('2026-12-01T10:00:01.000Z'),
  endTime: null,
  width: 1280,
  height: 720,
  source: 'callback',
  recoveryKey: null,
  createdAt: new Date('2026-12-01T10:00:02.000Z'),
  updatedAt: new Date('2026-12-01T10:01:02.000Z'),
};

describe('toTaskView', () => {
  it('renders the stored state, the bookkeeping times and the files, dates as ISO-8601', () => {
    expect(toTaskView(row, [file])).toEqual({
      taskId: 'task-1',
      projectId: 'project-1',
      publishDomain: 'push.example.com',
      app: 'live',
      stream: 'room-9',
      recordFormat: 'MP4',
      status: 'OVER',
      errorMessage: null,
      lastEventType: 'RECORD_OVER',
      lastEventAt: '2026-12-01T10:05:00.000Z',
      stalledAt: '2026-12-01T10:04:00.000Z',
      createdAt: '2026-12-01T10:00:00.000Z',
      updatedAt: '2026-12-01T10:05:00.500Z',
      files: [
        {
          jobId: 'job-1',
          recordFormat: 'MP4',
          status: 'COMPLETE',
          downloadUrl: 'https://obs.example.com/a.mp4',
          assetId: null,
          fileSize: 1024,
          recordDuration: 60,
          startTime: '2026-12-01T10:00:01.000Z',
          endTime: null,
          width: 1280,
          height: 720,
        },
      ],
    });
  });

  it('shows exactly the task store state of the row, plus the view-only fields', () => {
    const view = toTaskView(row, []);
    const state = toTaskState(row)!;
    const onlyInView = ['stalledAt', 'createdAt', 'updatedAt', 'files'];
    expect(Object.keys(view).filter((k) => !onlyInView.includes(k))).toEqual(Object.keys(state));
    expect({ ...view, lastEventAt: new Date(view.lastEventAt!) }).toMatchObject(state);
  });

  it('refuses a row no callback was applied to (the queries never read one)', () => {
    expect(() => toTaskView({ ...row, status: null }, [])).toThrow('task-1 has no callback applied yet');
  });
});
