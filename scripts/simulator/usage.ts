/** The simulator's usage text (`simulate --help`). */
export const USAGE = `Huawei Live recording-callback simulator

Usage:
  simulate [run] --url URL [options]      send recording lifecycles (tasks, files, formats, failures)
  simulate sign [options]                 print one signed callback body (for curl -d)
  simulate replay FILE --url URL [opts]   send saved callbacks, one JSON object per line

Signing (every command):
  --key KEY            callback key, 32+ letters and digits. Default: $RECORDING_CALLBACK_KEY, the first of
                       $RECORDING_CALLBACK_KEYS, or the host app's development key (data/dev-callback-key)
  --algorithm ALG      HMACSHA256 (default, or $RECORDING_CALLBACK_ALGORITHM) or MD5
  --expires SECONDS    auth_timestamp = send time + SECONDS (default 0); --expires=-3600 gives
                       expired signatures

run:
  --url URL            callback URL, e.g. http://127.0.0.1:3000/recording-callbacks (required)
  --count N            recording tasks (default 10)
  --files N            files per task (default 2)
  --formats LIST       record formats, comma-separated: HLS,FLV,MP4 (default HLS,MP4)
  --fail-rate R        share of tasks that end RECORD_FAILED instead of RECORD_OVER, 0..1 (default 0.1)
  --duplicate-rate R   share of callbacks sent twice, re-signed, as Huawei may retry, 0..1 (default 0)
  --lose-rate R        share of RECORD_FILE_COMPLETE callbacks not sent, as if lost, 0..1 (default 0)
  --listing FILE       write every finished file (sent or lost) as Huawei Live would list it, for
                       npm run fake-huawei-live -- --contents FILE (watch reconciliation recover them)
  --shuffle            send every callback in random order (default: in order within each task)
  --concurrency N      requests in flight (default 8; without --shuffle, tasks in flight)
  --seed N             random seed, to repeat a run's shape (default random; printed in the summary)
  --run-id ID          task ids are sim-<ID>-<n> (default derived from the time)
  --domain NAME        publish_domain (default push.example.com)
  --app NAME           app (default live)
  --save FILE          also write every callback sent, as sent, to FILE (JSON lines) for replay
  --timeout MS         per-request timeout (default 10000)
  --json               print the summary as JSON
  --no-progress        no progress bar (it shows only on a terminal, for runs of 100+ callbacks)

sign:
  --event TYPE         RECORD_START, RECORD_NEW_FILE_START, RECORD_FILE_COMPLETE (default), RECORD_OVER,
                       RECORD_FAILED
  --task-id ID  --job-id ID  --format HLS|FLV|MP4  --domain NAME  --app NAME  --stream NAME
  --set FIELD=VALUE    set any field (repeatable; VALUE is parsed as JSON when it can be)
  --body JSON          sign this body instead of a built one

replay:
  --url URL, --concurrency N (default 1: in file order), --timeout MS, --json
  --as-is              send the lines unchanged (default: re-sign each with a fresh auth_timestamp)

Exit codes: 0 every answer was 200, 1 some were not, 2 bad usage (URL, key, file or option).
`;

/** A usage error: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}
