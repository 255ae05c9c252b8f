import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = process.cwd();

/** A compiled copy of the simulator CLI, and how to throw it away. */
export interface SimulatorBuild {
  /** Path of the compiled `scripts/simulate.js`. */
  script: string;
  remove(): void;
}

/**
 * Compiles `scripts/simulate.ts` and the files it imports (found by following relative imports) from the
 * current sources into a temporary folder, file by file with the project's compiler options, exactly as
 * `npm run build` emits them (CommonJS). Type checking is `npm run typecheck`'s job; this takes a second
 * instead of a full build, and never runs a stale `dist/`.
 *
 * @example
 * const sim = buildSimulator(); await runSimulator(sim, ['sign', '--key', KEY]); sim.remove();
 */
export function buildSimulator(): SimulatorBuild {
  const out = mkdtempSync(join(tmpdir(), 'rc-simulator-'));
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const options = { ...config.options, sourceMap: false, declaration: false, inlineSourceMap: false };
  const pending = [join(ROOT, 'scripts/simulate.ts')];
  const seen = new Set<string>();
  while (pending.length) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const { outputText, diagnostics } = ts.transpileModule(source, {
      compilerOptions: options,
      fileName: file,
      reportDiagnostics: true,
    });
    if (diagnostics?.length)
      throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(diagnostics[0].messageText, '\n')}`);
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    // Follow the relative requires that survived (type-only imports are gone from the output).
    for (const m of outputText.matchAll(/require\("(\.[^"]+)"\)/g)) {
      const base = resolve(dirname(file), m[1]);
      const candidates = [`${base}.ts`, join(base, 'index.ts')];
      const found = candidates.find((c) => ts.sys.fileExists(c));
      if (!found) throw new Error(`${file}: cannot resolve ${m[1]}`);
      pending.push(found);
    }
  }
  return { script: join(out, 'scripts/simulate.js'), remove: () => rmSync(out, { recursive: true, force: true }) };
}

/** What a simulator run printed and how it ended. */
export interface SimulatorResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled simulator as a child process (no TTY, so no progress bar).
 *
 * @example
 * const r = await runSimulator(sim, ['--url', url, '--json']); expect(r.code).toBe(0);
 */
export function runSimulator(
  build: SimulatorBuild,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<SimulatorResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [build.script, ...args], {
      cwd: ROOT,
      // A clean environment: no key leaks in from the developer's shell unless a test sets one.
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}
