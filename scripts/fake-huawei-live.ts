/**
 * Starts the fake Huawei Live API of the tests on its own, to try reconciliation locally without an
 * account: it serves ListRecordContents and ListRecordCallbackConfigs, checks every request's AK/SK
 * signature, and reads its listing from a JSON file on each request (the simulator's `--listing FILE`
 * writes one), so files added meanwhile are listed.
 *
 *   npm run fake-huawei-live -- [--port 9100] [--contents listing.json] [--configs configs.json]
 *
 * The AK, SK and project id are HUAWEI_CLOUD_AK, HUAWEI_CLOUD_SK and HUAWEI_CLOUD_PROJECT_ID (defaults
 * below); point the app at it with HUAWEI_LIVE_ENDPOINT=http://127.0.0.1:<port>. Never for production.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FakeHuaweiLive } from '../test/support/fake-huawei-live';

/** Defaults shared with the README's walk-through. */
export const FAKE_ACCOUNT = {
  ak: 'LOCALFAKEAK000000000',
  sk: 'localFakeSecretKey000000000000000000000',
  projectId: 'local-project',
};

function readJson(file: string | undefined): unknown[] {
  if (!file || !existsSync(file)) return [];
  const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  return Array.isArray(value) ? value : [];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: false,
    options: { port: { type: 'string' }, contents: { type: 'string' }, configs: { type: 'string' } },
  });
  const port = Number(values.port ?? 9100);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a port number, got ${values.port}`);
  const account = {
    ak: process.env.HUAWEI_CLOUD_AK || FAKE_ACCOUNT.ak,
    sk: process.env.HUAWEI_CLOUD_SK || FAKE_ACCOUNT.sk,
    projectId: process.env.HUAWEI_CLOUD_PROJECT_ID || FAKE_ACCOUNT.projectId,
  };
  const live = await FakeHuaweiLive.start(account, port);
  live.callbackConfigs = readJson(values.configs) as FakeHuaweiLive['callbackConfigs'];
  live.beforeAnswer = () => {
    live.contents = readJson(values.contents) as FakeHuaweiLive['contents'];
  };
  process.stdout.write(
    [
      `Fake Huawei Live API listening on ${live.url} (project ${account.projectId})`,
      `  listing from ${values.contents ?? '(none: pass --contents FILE)'}, re-read on every request`,
      'Point the app at it:',
      `  HUAWEI_LIVE_ENDPOINT=${live.url} HUAWEI_CLOUD_AK=${account.ak} HUAWEI_CLOUD_SK=<the SK> HUAWEI_CLOUD_PROJECT_ID=${account.projectId}`,
      '',
    ].join('\n'),
  );
  const stop = () => void live.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
