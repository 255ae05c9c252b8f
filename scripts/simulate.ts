#!/usr/bin/env node
/**
 * Huawei Cloud Live recording-callback simulator: sends realistic, genuinely signed recording lifecycles to
 * a callback URL, as Huawei Live would, and summarises the answers. Run `simulate --help` for usage.
 *
 * Exit codes: 0 every answer was 200; 1 some answers were not; 2 usage error (bad URL, key, file, option).
 *
 * @example
 * npm run -s simulate -- --url http://127.0.0.1:3000/recording-callbacks --count 50 --shuffle --duplicate-rate 0.1
 */
import { USAGE, UsageError } from './simulator/usage';
import { run } from './simulator/run-command';
import { signCommand } from './simulator/sign-command';
import { replay } from './simulator/replay-command';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [command, ...rest] = argv;
  if (command === 'sign') return signCommand(rest);
  if (command === 'replay') return replay(rest);
  if (command === 'run') return run(rest);
  if (command === undefined || command.startsWith('-')) return run(argv);
  throw new UsageError(`unknown command "${command}"; use run, sign or replay (see --help)`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage) process.stderr.write('Run with --help for usage.\n');
    process.exitCode = usage ? 2 : 1;
  },
);
