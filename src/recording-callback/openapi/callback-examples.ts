const common = {
  project_id: '70b76c1e9d2a4f3b880af501cd7e4a21',
  task_id: '51126d0ebe94b1da00d2e21a10c3b7f2',
  publish_domain: 'push.example.com',
  app: 'live',
  stream: 'mystream',
};
const job_id = 'dc0a1773-0cef-4c4b-9d2e-9a38fdb095d2';

/**
 * One example body per event type, after Huawei's documented example (signatures are illustrative:
 * compute real ones with `signRecordingCallback` from the test kit, or `simulate sign`).
 */
export const CALLBACK_EXAMPLES: Record<string, { summary: string; value: Record<string, unknown> }> = {
  RECORD_START: {
    summary: 'RECORD_START',
    value: {
      ...common,
      event_type: 'RECORD_START',
      record_format: 'HLS',
      auth_timestamp: 1583676625,
      auth_sign: '8b1c4f0a3e5d7c9b2a4f6e8d0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b',
    },
  },
  RECORD_NEW_FILE_START: {
    summary: 'RECORD_NEW_FILE_START',
    value: {
      ...common,
      job_id,
      event_type: 'RECORD_NEW_FILE_START',
      record_format: 'HLS',
      auth_timestamp: 1583676625,
      auth_sign: '1f3e5d7c9b0a2f4e6d8c1b3a5f7e9d0c2b4a6f8e1d3c5b7a9f0e2d4c6b8a1f3e',
    },
  },
  RECORD_FILE_COMPLETE: {
    summary: 'RECORD_FILE_COMPLETE (Huawei’s documented example)',
    value: {
      ...common,
      job_id,
      event_type: 'RECORD_FILE_COMPLETE',
      record_format: 'HLS',
      download_url:
        'https://obs.cn-north-4.myhuaweicloud.com/live/record-mystream-1583676625/record-push.example.com-live-mystream-1583676625.m3u8',
      asset_id: '1a0d8e9bfae04c8a9be5021e62aa1e96',
      file_size: 3957964,
      record_duration: 120,
      start_time: '2020-03-08T14:10:25Z',
      end_time: '2020-03-08T14:12:25Z',
      width: 1280,
      height: 720,
      auth_timestamp: 1583676745,
      auth_sign: '4f97f46759a0c1e2d3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e',
    },
  },
  RECORD_OVER: {
    summary: 'RECORD_OVER',
    value: {
      ...common,
      event_type: 'RECORD_OVER',
      record_format: 'HLS',
      auth_timestamp: 1583677045,
      auth_sign: '9e7c5a3f1d8b6e4c2a0f9d7b5e3c1a8f6d4b2e0c9a7f5d3b1e8c6a4f2d0b9e7c',
    },
  },
  RECORD_FAILED: {
    summary: 'RECORD_FAILED',
    value: {
      ...common,
      event_type: 'RECORD_FAILED',
      error_message: 'failed to pull the stream from the origin',
      auth_timestamp: 1583677045,
      auth_sign: '3c5e7a9b1d2f4e6c8a0b2d4f6e8a1c3e5b7d9f0a2c4e6b8d1f3a5c7e9b0d2f4a',
    },
  },
};
