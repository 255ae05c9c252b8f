/**
 * The baseline receiver's tables: the same columns and indexes as the module's tasks, files, transitions
 * and stored callbacks (so both pay for the same index maintenance), written by hand. The module's
 * fifth table, recording_deliveries, has no counterpart: the baseline hands nothing on after commit.
 */
const TABLES = {
  sqlite: [
    `CREATE TABLE IF NOT EXISTS recording_tasks (
      task_id varchar(256) PRIMARY KEY NOT NULL, project_id varchar(256), publish_domain varchar(256) NOT NULL,
      app varchar(256) NOT NULL, stream varchar(256) NOT NULL, record_format varchar(8), status varchar(16),
      error_message text, last_event_type varchar(32), last_event_at datetime, stalled_at datetime,
      created_at datetime NOT NULL, updated_at datetime NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS recording_files (
      id integer PRIMARY KEY AUTOINCREMENT NOT NULL, task_id varchar(256) NOT NULL, job_id varchar(256) NOT NULL,
      record_format varchar(8) NOT NULL, status varchar(16) NOT NULL, download_url varchar(2048),
      asset_id varchar(256), file_size bigint, record_duration integer, start_time datetime,
      end_time datetime, width integer, height integer, created_at datetime NOT NULL, updated_at datetime NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS recording_task_transitions (
      id integer PRIMARY KEY AUTOINCREMENT NOT NULL, task_id varchar(256) NOT NULL, from_status varchar(16),
      to_status varchar(16) NOT NULL, event_type varchar(32) NOT NULL, job_id varchar(256),
      callback_id integer NOT NULL, at datetime NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS recording_callbacks (
      id integer PRIMARY KEY AUTOINCREMENT NOT NULL, dedupe_key varchar(64) NOT NULL, task_id varchar(256) NOT NULL,
      event_type varchar(32) NOT NULL, job_id varchar(256), publish_domain varchar(256) NOT NULL,
      payload text NOT NULL, received_at datetime NOT NULL)`,
  ],
  postgres: [
    `CREATE TABLE IF NOT EXISTS recording_tasks (
      task_id varchar(256) PRIMARY KEY, project_id varchar(256), publish_domain varchar(256) NOT NULL,
      app varchar(256) NOT NULL, stream varchar(256) NOT NULL, record_format varchar(8), status varchar(16),
      error_message text, last_event_type varchar(32), last_event_at timestamptz, stalled_at timestamptz,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS recording_files (
      id serial PRIMARY KEY, task_id varchar(256) NOT NULL, job_id varchar(256) NOT NULL,
      record_format varchar(8) NOT NULL, status varchar(16) NOT NULL, download_url varchar(2048),
      asset_id varchar(256), file_size bigint, record_duration integer, start_time timestamptz,
      end_time timestamptz, width integer, height integer, created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS recording_task_transitions (
      id serial PRIMARY KEY, task_id varchar(256) NOT NULL, from_status varchar(16),
      to_status varchar(16) NOT NULL, event_type varchar(32) NOT NULL, job_id varchar(256),
      callback_id integer NOT NULL, at timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS recording_callbacks (
      id serial PRIMARY KEY, dedupe_key varchar(64) NOT NULL, task_id varchar(256) NOT NULL,
      event_type varchar(32) NOT NULL, job_id varchar(256), publish_domain varchar(256) NOT NULL,
      payload jsonb NOT NULL, received_at timestamptz NOT NULL)`,
  ],
};

const INDEXES = [
  `CREATE INDEX IF NOT EXISTS idx_recording_tasks_created ON recording_tasks (created_at, task_id)`,
  `CREATE INDEX IF NOT EXISTS idx_recording_tasks_stream ON recording_tasks (publish_domain, app, stream, created_at, task_id)`,
  `CREATE INDEX IF NOT EXISTS idx_recording_tasks_status ON recording_tasks (status, created_at, task_id)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS uq_recording_files_key ON recording_files (task_id, job_id, record_format)`,
  `CREATE INDEX IF NOT EXISTS idx_recording_task_transitions_task ON recording_task_transitions (task_id, id)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS uq_recording_callbacks_dedupe ON recording_callbacks (dedupe_key)`,
  `CREATE INDEX IF NOT EXISTS idx_recording_callbacks_task ON recording_callbacks (task_id, id)`,
];

/** The DDL statements for one database, tables first. */
export function schemaStatements(kind: 'sqlite' | 'postgres'): string[] {
  return [...TABLES[kind], ...INDEXES];
}
