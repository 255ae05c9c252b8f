/**
 * Preloaded (`node -r`) into a server under test when BENCH_LOOP_MONITOR=1: every second, writes to stderr
 * (the server's log file) the longest event-loop stall of that second when it exceeds 100 ms, so latency
 * outliers seen by the load generator can be told apart from queueing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
setInterval(() => {
  const maxMs = histogram.max / 1e6;
  if (maxMs > 100)
    process.stderr.write(
      `[bench-loop-monitor] ${new Date().toISOString()} event loop stalled ${maxMs.toFixed(0)} ms\n`,
    );
  histogram.reset();
}, 1000).unref();
