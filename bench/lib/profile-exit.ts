/**
 * Preloaded (`node -r`) into the app when it is profiled with `--cpu-prof`. Node writes the profile only
 * on a normal exit, but Nest's shutdown hook ends the process by re-raising SIGTERM after `app.close()`.
 * With this listener present, that second SIGTERM reaches it instead and the process exits normally, so
 * the profile is written; the first SIGTERM is left to Nest's graceful shutdown.
 */
let signals = 0;
process.on('SIGTERM', () => {
  signals++;
  if (signals >= 2) process.exit(0);
  // If Nest does not re-raise the signal, exit after its shutdown had ample time.
  setTimeout(() => process.exit(0), 15_000).unref();
});
