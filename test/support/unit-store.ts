import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { RecordingEventType } from '../../src/recording-callback/protocol/recording-event-type';
import type { TaskState } from '../../src/recording-callback/tasks/task-state.reducer';
import { TaskStatus } from '../../src/recording-callback/tasks/task-status';
import { RECORDING_CALLBACK_ENTITIES } from '../../src/recording-callback/recording-callback.entities';
import { RECORDING_CALLBACK_MIGRATIONS } from '../../src/recording-callback/migrations';
import { resolveOptions } from '../../src/recording-callback/recording-callback.options-resolver';
import type {
  RecordingDeliveryOptions,
  ResolvedRecordingCallbackOptions,
} from '../../src/recording-callback/recording-callback.options';
import type { RecordingHandler } from '../../src/recording-callback/delivery/recording-handler.registry';
import { RecordingHandlerRegistry } from '../../src/recording-callback/delivery/recording-handler.registry';
import { DatabaseGateway } from '../../src/recording-callback/storage/database.gateway';

/**
 * For unit specs: a real SQLite file with the module's schema, its write gateway, a clock the spec
 * moves by hand, and resolved options that read that clock.
 */
export interface UnitStore {
  dataSource: DataSource;
  db: DatabaseGateway;
  clock: { now: number };
  options: ResolvedRecordingCallbackOptions;
  /** Raw rows of a statement on the shared connection. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** Opens a throw-away SQLite database with the module's migrations run. */
export async function openUnitStore(delivery: RecordingDeliveryOptions = {}): Promise<UnitStore> {
  // The parts log every failure they handle; the specs assert on stored state instead.
  Logger.overrideLogger(false);
  const dir = mkdtempSync(join(tmpdir(), 'rc-unit-'));
  const dataSource = await new DataSource({
    type: 'better-sqlite3',
    database: join(dir, 'db.sqlite'),
    enableWAL: true,
    entities: [...RECORDING_CALLBACK_ENTITIES],
    migrations: [...RECORDING_CALLBACK_MIGRATIONS],
    migrationsRun: true,
  }).initialize();
  const clock = { now: Date.UTC(2026, 0, 1) };
  const options = resolveOptions({ auth: 'none', now: () => clock.now, delivery: { pollIntervalMs: 0, ...delivery } });
  return {
    dataSource,
    db: new DatabaseGateway(dataSource),
    clock,
    options,
    query: (sql, params = []) => dataSource.query(sql, params),
    async close() {
      await dataSource.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A handler registry whose handlers the spec sets directly (the real one discovers `@OnEvent` methods
 * of a running app).
 */
export class FakeRegistry extends RecordingHandlerRegistry {
  private readonly set = new Map<string, RecordingHandler[]>();
  scans = 0;

  constructor() {
    super(undefined as never, undefined as never);
  }

  /** Adds a handler `id` of `event`; returns the payloads it received. */
  on(event: string, id: string, fn: (payload: unknown) => unknown = () => undefined): unknown[] {
    const seen: unknown[] = [];
    const list = this.set.get(event) ?? [];
    list.push({
      id,
      invoke: async (payload) => {
        seen.push(payload);
        return fn(payload);
      },
    });
    this.set.set(event, list);
    return seen;
  }

  override scan(): void {
    this.scans++;
  }

  override handlersOf(event: string): readonly RecordingHandler[] {
    return this.set.get(event) ?? [];
  }
}

/** A promise the spec resolves by hand, to hold a handler until the spec lets it go. */
export function latch<T = void>(): { promise: Promise<T>; release(value: T): void } {
  let release!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (release = resolve));
  return { promise, release };
}

/** Resolves once `check` holds, looking after every event-loop turn; fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A task state as the reducer leaves it after a callback of `eventType` at `at`. */
export function taskState(taskId: string, at: Date, eventType = RecordingEventType.Start): TaskState {
  const status = eventType === RecordingEventType.Over ? TaskStatus.Over : TaskStatus.Recording;
  return {
    taskId,
    projectId: 'p',
    publishDomain: 'push.example.com',
    app: 'live',
    stream: 's',
    recordFormat: 'HLS',
    status,
    errorMessage: null,
    lastEventType: eventType,
    lastEventAt: at,
  };
}
