// The layer rules of docs/architecture.md, checked on the source text so that they stay true.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = join(process.cwd(), 'src');
const LIBRARY = join(SRC, 'recording-callback');

/** Layers and their height: a layer imports only lower ones; storage/ and protocol/ nothing of ours. */
const LAYERS: Record<string, number> = { callback: 4, delivery: 3, tasks: 2, storage: 1, protocol: 1 };
/** Beside the layers, imported by any of them, so they may import only storage/, protocol/ and each other. */
const BESIDE = [
  'errors',
  'telemetry',
  'openapi',
  'recording-callback.options.ts',
  'recording-callback.options-resolver.ts',
  'recording-callback.options-error.ts',
  'recording-callback.reconcile-options.ts',
  'recording-callback.module-definition.ts',
];
/** What wires the layers together: the only importers of callback/. */
const WIRING = ['recording-callback.module.ts', 'index.ts'];
/** The entry points an app (and the host app) imports the library through. */
const ENTRY_POINTS = ['index.ts', 'testing/index.ts', 'health/index.ts', 'metrics/index.ts'];

const MAX_LINES = 250;
/** Specs may run a little longer: their cases are a list, not logic. */
const MAX_SPEC_LINES = 300;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The text without comments (a rough cut: enough for our files, which put no `//` or `/*` in strings but URLs). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** The files a file imports by a relative path, resolved to `.ts` files (a folder to its index.ts). */
function relativeImports(file: string): string[] {
  const specifiers = [...code(readFileSync(file, 'utf8')).matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']*)'/g)];
  return specifiers.map(([, spec]) => {
    const target = resolve(dirname(file), spec);
    if (existsSync(`${target}.ts`)) return `${target}.ts`;
    if (existsSync(join(target, 'index.ts'))) return join(target, 'index.ts');
    return target;
  });
}

/** The first path segment below the library (`delivery`, `errors`, `index.ts`, …). */
const partOf = (file: string): string => relative(LIBRARY, file).split('/')[0];
const inLibrary = (file: string): boolean => !relative(LIBRARY, file).startsWith('..');

const files = sourceFiles(SRC);
const library = files.filter((f) => inLibrary(f) && !f.endsWith('.spec.ts'));
const imports = library.flatMap((from) =>
  relativeImports(from)
    .filter(inLibrary)
    .map((to) => ({ from, to, a: partOf(from), b: partOf(to) }))
    .filter(({ a, b }) => a !== b),
);
const show = (edges: typeof imports) => edges.map(({ from, to }) => `${relative(SRC, from)} → ${relative(SRC, to)}`);

describe('architecture', () => {
  it('reads the source tree it checks', () => {
    expect(library.length).toBeGreaterThan(50);
    expect(imports.some(({ a, b }) => a === 'callback' && b === 'delivery')).toBe(true);
  });

  it('layers import only downwards: callback/ → delivery/ → tasks/ → storage/, protocol/', () => {
    const upwards = imports.filter(({ a, b }) => a in LAYERS && b in LAYERS && LAYERS[b] >= LAYERS[a]);
    expect(show(upwards)).toEqual([]);
  });

  it('storage/ and protocol/ import nothing of the library', () => {
    expect(show(imports.filter(({ a }) => a === 'storage' || a === 'protocol'))).toEqual([]);
  });

  it('the parts beside the layers import only storage/, protocol/ and each other', () => {
    const allowed = new Set([...BESIDE, 'storage', 'protocol']);
    expect(show(imports.filter(({ a, b }) => BESIDE.includes(a) && !allowed.has(b)))).toEqual([]);
  });

  it('nothing imports callback/ but the module and the index', () => {
    expect(show(imports.filter(({ a, b }) => b === 'callback' && !WIRING.includes(a)))).toEqual([]);
  });

  it('the host app imports the library only through its entry points', () => {
    const host = files.filter((f) => !inLibrary(f) && !f.endsWith('.spec.ts'));
    const deep = host.flatMap((from) =>
      relativeImports(from)
        .filter((to) => inLibrary(to) && !ENTRY_POINTS.includes(relative(LIBRARY, to)))
        .map((to) => `${relative(SRC, from)} → ${relative(SRC, to)}`),
    );
    expect(deep).toEqual([]);
  });

  it('keeps SQL text in *.sql.ts, storage/ and migrations/ (none in the host app or scripts/)', () => {
    const sql =
      /\b(SELECT\s[^'`]*?\bFROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|(CREATE|ALTER|DROP)\s+(TABLE|INDEX))\b/;
    const scripts = sourceFiles(join(process.cwd(), 'scripts'));
    const outside = [...files.filter((f) => !f.endsWith('.spec.ts')), ...scripts].filter(
      (f) =>
        !/\.sql\.ts$/.test(f) &&
        !['storage', 'migrations'].includes(partOf(f)) &&
        sql.test(code(readFileSync(f, 'utf8'))),
    );
    expect(outside.map((f) => relative(process.cwd(), f))).toEqual([]);
  });

  it('branches on the database only in storage/ (and the shipped migrations)', () => {
    const branch = /\bconcurrent\s*\?|\.type\s*[!=]==?\s*'(postgres|sqlite|better-sqlite3)'|\bdialect\.name\b/;
    const outside = library.filter(
      (f) => !['storage', 'migrations'].includes(partOf(f)) && branch.test(code(readFileSync(f, 'utf8'))),
    );
    expect(outside.map((f) => relative(SRC, f))).toEqual([]);
  });

  it(`keeps every file in src/ under ${MAX_LINES} lines (specs under ${MAX_SPEC_LINES})`, () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter(({ f, lines }) => lines > (f.endsWith('.spec.ts') ? MAX_SPEC_LINES : MAX_LINES))
      .map(({ f, lines }) => `${relative(SRC, f)}: ${lines}`);
    expect(long).toEqual([]);
  });
});
