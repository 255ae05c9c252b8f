import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/** The repository root: the nearest folder, from the working directory up, with package.json and ormconfig.ts. */
export const REPO_ROOT = (() => {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'ormconfig.ts'))) return dir;
    if (dirname(dir) === dir)
      throw new Error(`run the tests from the repository (no package.json + ormconfig.ts above ${process.cwd()})`);
  }
})();

/** Folder under `node_modules/.cache` (ignored by git) that holds per-run transpiled trees. */
const CACHE = join(REPO_ROOT, 'node_modules', '.cache', 'rc-node-build');

/** A transpiled copy of the sources that a child `node` process can run, and how to delete it. */
export interface NodeBuild {
  /** Root of the copy: `<root>/src/…`, `<root>/ormconfig.js`, `<root>/scripts/…`, `<root>/test/support/…`. */
  root: string;
  /** Absolute path of the compiled JavaScript for a repository-relative `.ts` path. */
  js(tsPath: string): string;
  remove(): void;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * Transpiles `src/`, `ormconfig.ts` and the given extra files (repository-relative) to CommonJS, one
 * file at a time (no type check: `tsc` and the unit tests do that), into a fresh folder inside
 * `node_modules/.cache`, so child processes resolve the project's `node_modules`. Takes about a second,
 * needs no `npm run build`, and never runs stale code: each run compiles what is on disk now.
 * Decorators and their metadata are emitted exactly as `tsc` does with this repository's settings
 * (the sources are written for isolated-module compilation: type-only imports are marked).
 *
 * @example
 * const build = transpileForNode(['test/support/delivery-host.ts']);
 * spawn(process.execPath, [build.js('test/support/delivery-host.ts')]);
 */
export function transpileForNode(extra: string[]): NodeBuild {
  mkdirSync(CACHE, { recursive: true });
  const root = mkdtempSync(join(CACHE, 'build-'));
  const sources = [
    ...tsFiles(join(REPO_ROOT, 'src')),
    join(REPO_ROOT, 'ormconfig.ts'),
    ...extra.map((p) => join(REPO_ROOT, p)),
  ];
  const compilerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
    sourceMap: false,
    declaration: false,
  };
  for (const file of sources) {
    const out = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions,
      fileName: file,
      reportDiagnostics: true,
    });
    const problems = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (problems.length) {
      throw new Error(
        `cannot transpile ${relative(REPO_ROOT, file)}: ${problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`,
      );
    }
    const target = join(root, relative(REPO_ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out.outputText);
  }
  return {
    root,
    js: (tsPath) => join(root, tsPath.replace(/\.ts$/, '.js')),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
