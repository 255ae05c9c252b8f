/**
 * A host app for process-level delivery tests (crash recovery, several instances). Run as a child
 * process after {@link transpileForNode}; configured by the environment:
 *
 * - `DATABASE_URL` (postgres://…) or `SQLITE_PATH`: the database, as for the real host app
 * - `PORT` (0 = any free port), `INSTANCE` (a name written into every log line)
 * - `EVENT_LOG`: file that every handler call appends JSON lines to (`start` and `end`), shared by
 *   several processes (appends of one short line are atomic)
 * - `HANDLER_DELAY_MS`: how long the slow handler works on each event; `SLOW_JOB_MS`: how long it works
 *   on file events whose job_id contains `slow`
 * - `FAIL_FLAG_FILE`: while this file exists, the slow handler throws for tasks whose id contains `fail`
 * - `LEASE_MS`, `POLL_MS`, `BASE_DELAY_MS`, `MAX_ATTEMPTS`, `GRACE_MS`: delivery options
 * - `CALLBACK_KEY`: the HMACSHA256 key
 * - `STALL_AFTER_S`, `WATCHDOG_INTERVAL_MS`: stalled-task watchdog (off unless the interval is set); each
 *   check is logged as a `watchdog` line when it starts and when it ends (`attempt` numbers the checks)
 * - on shutdown, a `scheduler` line (`stop-claiming`) once the delivery scheduler claims nothing more
 *
 * Prints `LISTENING <port>` on stdout once it accepts callbacks.
 */
import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { TypeOrmModule } from '@nestjs/typeorm';
import { appendFileSync, existsSync } from 'node:fs';
import { databaseOptions } from '../../ormconfig';
import { configureHttp } from '../../src/host/http-setup';
import { RecordingCallbackModule, RecordingEvents, StalledTaskWatchdog } from '../../src/recording-callback';
import type { RecordingCallbackEvent, TaskStalledEvent } from '../../src/recording-callback';
import { DeliveryScheduler } from '../../src/recording-callback/delivery/delivery-scheduler';

const env = process.env;
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);

/** One line of the event log. */
export interface HostLogLine {
  instance: string;
  pid: number;
  handler: 'slow' | 'fast' | 'stalled' | 'watchdog' | 'scheduler';
  /** `error` ends a call that threw. */
  phase: 'start' | 'end' | 'error';
  event: string;
  /** Null for a stall notice, a watchdog check and the scheduler's stop. */
  callbackId: number | null;
  /** Empty for a watchdog check and the scheduler's stop. */
  taskId: string;
  /** The delivery attempt; for a watchdog check, the check's number in this process (1, 2, …). */
  attempt: number;
  /** Epoch milliseconds with sub-millisecond precision. */
  at: number;
}

const HOST_SETTINGS = Symbol('HOST_SETTINGS');
interface HostSettings {
  instance: string;
  log: string;
  delayMs: number;
  slowJobMs: number;
  failFlag?: string;
}

const HUAWEI_EVENTS = [
  RecordingEvents.Start,
  RecordingEvents.NewFileStart,
  RecordingEvents.FileComplete,
  RecordingEvents.Over,
  RecordingEvents.Failed,
];

function write(
  settings: HostSettings,
  handler: HostLogLine['handler'],
  phase: HostLogLine['phase'],
  event: string,
  e: { callbackId?: number; taskId?: string; task: { taskId: string }; attempt: number },
): void {
  const line: HostLogLine = {
    instance: settings.instance,
    pid: process.pid,
    handler,
    phase,
    event,
    callbackId: e.callbackId ?? null,
    taskId: e.task.taskId,
    attempt: e.attempt,
    at: performance.timeOrigin + performance.now(),
  };
  appendFileSync(settings.log, JSON.stringify(line) + '\n');
}

/** Works `HANDLER_DELAY_MS` on every Huawei event, logging when it starts and ends. */
@Injectable()
class SlowHandler {
  constructor(@Inject(HOST_SETTINGS) private readonly settings: HostSettings) {}

  @OnEvent(HUAWEI_EVENTS)
  async handle(e: RecordingCallbackEvent): Promise<void> {
    const event = `recording.${e.callback.event_type}`;
    write(this.settings, 'slow', 'start', event, e);
    const job = (e.callback as { job_id?: string }).job_id ?? '';
    await new Promise((r) => setTimeout(r, job.includes('slow') ? this.settings.slowJobMs : this.settings.delayMs));
    const { failFlag } = this.settings;
    if (failFlag && existsSync(failFlag) && e.task.taskId.includes('fail')) {
      write(this.settings, 'slow', 'error', event, e);
      throw new Error(`refusing ${e.task.taskId} while ${failFlag} exists`);
    }
    write(this.settings, 'slow', 'end', event, e);
  }
}

/** A sibling handler of the same events that returns at once. */
@Injectable()
class FastHandler {
  constructor(@Inject(HOST_SETTINGS) private readonly settings: HostSettings) {}

  @OnEvent(HUAWEI_EVENTS)
  handle(e: RecordingCallbackEvent): void {
    const event = `recording.${e.callback.event_type}`;
    write(this.settings, 'fast', 'start', event, e);
    write(this.settings, 'fast', 'end', event, e);
  }
}

/** Logs every stall notice. */
@Injectable()
class StallHandler {
  constructor(@Inject(HOST_SETTINGS) private readonly settings: HostSettings) {}

  @OnEvent(RecordingEvents.Stalled)
  handle(e: TaskStalledEvent): void {
    write(this.settings, 'stalled', 'start', RecordingEvents.Stalled, e);
    write(this.settings, 'stalled', 'end', RecordingEvents.Stalled, e);
  }
}

/** Logs each watchdog check (the timer's and any other) when it starts and when it ends. */
function logWatchdogChecks(settings: HostSettings, watchdog: StalledTaskWatchdog): void {
  const check = watchdog.check.bind(watchdog);
  let checks = 0;
  watchdog.check = async () => {
    const line = { callbackId: undefined, task: { taskId: '' }, attempt: ++checks };
    write(settings, 'watchdog', 'start', 'check', line);
    try {
      const flagged = await check();
      write(settings, 'watchdog', 'end', 'check', line);
      return flagged;
    } catch (error) {
      write(settings, 'watchdog', 'error', 'check', line);
      throw error;
    }
  };
}

/** Logs the moment shutdown began for the scheduler: from then on it claims nothing new. */
function logSchedulerStop(settings: HostSettings, scheduler: DeliveryScheduler): void {
  const stop = scheduler.beforeApplicationShutdown.bind(scheduler);
  scheduler.beforeApplicationShutdown = () => {
    // The scheduler sets its stop flag before its first await, so the flag is set when the line is written.
    const done = stop();
    write(settings, 'scheduler', 'start', 'stop-claiming', { task: { taskId: '' }, attempt: 0 });
    return done;
  };
}

async function main(): Promise<void> {
  if (!env.EVENT_LOG) throw new Error('EVENT_LOG is required');
  const settings: HostSettings = {
    instance: env.INSTANCE ?? `pid-${process.pid}`,
    log: env.EVENT_LOG,
    delayMs: num('HANDLER_DELAY_MS', 50),
    slowJobMs: num('SLOW_JOB_MS', 1000),
    failFlag: env.FAIL_FLAG_FILE || undefined,
  };

  @Module({
    imports: [
      TypeOrmModule.forRoot({
        ...databaseOptions({
          databaseUrl: env.DATABASE_URL || undefined,
          sqlitePath: env.SQLITE_PATH || undefined,
          poolSize: 5,
        }),
        migrationsRun: true,
        retryAttempts: 1,
      }),
      EventEmitterModule.forRoot(),
      RecordingCallbackModule.forRoot({
        auth: { algorithm: 'HMACSHA256', keys: [env.CALLBACK_KEY ?? ''] },
        // Replay needs a guard; this test host's stands for an app's own (it lets every test request in).
        operationGuards: [{ canActivate: () => true }],
        delivery: {
          leaseMs: num('LEASE_MS', 2000),
          pollIntervalMs: num('POLL_MS', 20),
          baseDelayMs: num('BASE_DELAY_MS', 10),
          maxDelayMs: 50,
          maxAttempts: num('MAX_ATTEMPTS', 8),
          shutdownGraceMs: num('GRACE_MS', 1000),
        },
        watchdog: { checkIntervalMs: num('WATCHDOG_INTERVAL_MS', 0), stallAfterSeconds: num('STALL_AFTER_S', 3600) },
      }),
    ],
    providers: [{ provide: HOST_SETTINGS, useValue: settings }, SlowHandler, FastHandler, StallHandler],
  })
  class DeliveryHostModule {}

  const app = configureHttp(
    await NestFactory.create<NestExpressApplication>(DeliveryHostModule, {
      bodyParser: false,
      logger: ['error', 'warn'],
    }),
  );
  logWatchdogChecks(settings, app.get(StalledTaskWatchdog));
  logSchedulerStop(settings, app.get(DeliveryScheduler));
  await app.listen(num('PORT', 0), '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`LISTENING ${address.port}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
