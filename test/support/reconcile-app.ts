import { Injectable } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { RecordingEvents } from '../../src/recording-callback';
import type {
  RecordContentItem,
  RecordFileCompleteEvent,
  RecordingCallbackModuleOptions,
  RecordingFileRecoveredEvent,
  RecordingReconcileOptions,
} from '../../src/recording-callback';
import { KEY_A } from './callbacks';
import type { TestDatabase } from './databases';
import type { FakeHuaweiLive } from './fake-huawei-live';
import { startApp } from './start-app';

/** The account the fake Live API accepts. */
export const LIVE_ACCOUNT = {
  ak: 'FAKEAK0123456789ABCD',
  sk: 'fakeSecretKey0123456789abcdefghijklmnop',
  projectId: 'proj-0001',
};

/** Handlers of a test app, written as a user would, recording what they receive. */
@Injectable()
export class RecoveryProbe {
  readonly recovered: RecordingFileRecoveredEvent[] = [];
  readonly completed: RecordFileCompleteEvent[] = [];

  @OnEvent(RecordingEvents.FileRecovered)
  onRecovered(e: RecordingFileRecoveredEvent): void {
    this.recovered.push(e);
  }

  @OnEvent(RecordingEvents.FileComplete)
  onComplete(e: RecordFileCompleteEvent): void {
    this.completed.push(e);
  }
}

/**
 * Starts a test app with reconciliation against the fake Live API (periodic runs off), an allow-all
 * operations guard, and a {@link RecoveryProbe}.
 *
 * @example
 * const app = await startReconcileApp(db, live);
 */
export function startReconcileApp(
  db: TestDatabase,
  live: FakeHuaweiLive,
  reconcile: Partial<RecordingReconcileOptions> = {},
  options: Partial<RecordingCallbackModuleOptions> = {},
  logger?: LoggerService,
): Promise<NestExpressApplication> {
  return startApp(db, {
    module: {
      auth: { algorithm: 'HMACSHA256', keys: [KEY_A] },
      operationGuards: [{ canActivate: () => true }],
      reconcile: {
        credentials: { ak: LIVE_ACCOUNT.ak, sk: LIVE_ACCOUNT.sk },
        projectId: LIVE_ACCOUNT.projectId,
        endpoint: live.url,
        intervalSeconds: 0,
        ...reconcile,
      },
      ...options,
    },
    providers: [RecoveryProbe],
    logger,
  });
}

/** POSTs to the reconcile route. */
export function postReconcile(app: INestApplication, body: object = {}): request.Test {
  return request(app.getHttpServer()).post('/recording-callbacks/reconcile').send(body);
}

/** A listed file of `stream`, `minute` minutes after `base`, ten minutes long. */
export function listedFile(stream: string, minute: number, base: number, over: Partial<RecordContentItem> = {}) {
  // Whole seconds, as Huawei writes times (yyyy-mm-ddThh:mm:ssZ).
  const start = Math.floor(base / 1000) * 1000 + minute * 60_000;
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  return {
    publish_domain: 'push.example.com',
    app: 'live',
    stream,
    record_format: 'HLS',
    record_type: 'CONTINUOUS_RECORD',
    file_name: `${stream}-${minute}.m3u8`,
    obs_addr: { bucket: 'rec', location: 'cn-north-4', object: `record/${stream}/${minute}.m3u8` },
    download_url: `https://rec.obs.cn-north-4.myhuaweicloud.com/record/${stream}/${minute}.m3u8`,
    start_time: iso(start),
    end_time: iso(start + 600_000),
    duration: 600,
    ...over,
  } satisfies RecordContentItem;
}

/** Counts rows of the module's tables, read through the app's DataSource. */
export async function countRows(app: INestApplication, sql: string): Promise<number> {
  const [row] = await app.get(DataSource).query(sql);
  return Number(Object.values(row as object)[0]);
}

/** Resolves once no delivery is pending or waiting for a retry (every handler call is done). */
export async function deliveriesSettled(app: INestApplication): Promise<void> {
  const deadline = Date.now() + 15_000;
  const open = `SELECT COUNT(*) AS n FROM recording_deliveries WHERE status IN ('pending', 'failed')`;
  while ((await countRows(app, open)) > 0) {
    if (Date.now() > deadline) throw new Error('deliveries did not settle');
    await new Promise((r) => setTimeout(r, 20));
  }
}
