// The package test (`npm run test:package`): builds and packs the library, checks the tarball's file list
// against an allow-list, then creates a throw-away NestJS 12 app and a NestJS 11 app from the templates
// beside this file, installs the tarball into each with the README's own install commands (from the npm
// registry), writes the README's code blocks marked `<!-- package-test: FILE -->` into them, and in
// each: builds and starts the app, sends a signed lifecycle with the package's simulator bin, waits for
// the README's handler to log every file, queries the tasks, and runs the README's in-process Jest e2e
// test. Set KEEP_PACKAGE_APPS=1 to keep the apps (their folder is printed).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const KEY = 'Kx7Qm2Lp9Vt4Rz8Wb3Nc6Hd1Fg5Js0Ya';
const LINES = ['nest12', 'nest11'];
const INSTALL_TIMEOUT_MS = 15 * 60_000;

/** Every file the tarball may hold; each must match one pattern. */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^CHANGELOG\.md$/,
  /^lib\/(cjs|esm)\/package\.json$/,
  /^lib\/(cjs|esm)\/src\/recording-callback\/([a-z0-9-]+\/)*[a-z0-9.-]+\.(js|d\.ts)$/,
  /^lib\/cjs\/scripts\/simulate\.(js|d\.ts)$/,
  // The simulator bin and its parts (one file per subcommand over shared pieces).
  /^lib\/cjs\/scripts\/simulator\/[a-z0-9-]+\.(js|d\.ts)$/,
];
/** Files that must not ship even though a pattern above would let them. */
const FORBIDDEN = [/\.spec\.(js|d\.ts)$/, /\.map$/];

let passed = 0;
let failed = 0;
const failures = [];

function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`  ok   ${name}`);
  } else {
    failed++;
    failures.push(`${name}${detail ? `: ${detail}` : ''}`);
    console.log(`  FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
}

/** Runs a command; resolves with its output, rejects (with the output) on a non-zero exit. */
function run(command, args, { cwd = root, env = {}, timeoutMs = INSTALL_TIMEOUT_MS, quiet = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk) => (output += chunk);
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const took = ((Date.now() - started) / 1000).toFixed(1);
      if (!quiet) console.log(`  $ ${[command, ...args].join(' ')}  (${took} s, exit ${code ?? signal})`);
      if (code === 0) resolvePromise(output);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal} in ${cwd}\n${output.slice(-6000)}`));
    });
  });
}

/** The README's code blocks marked `<!-- package-test: NAME -->`, by name. */
function readmeBlocks() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = new Map();
  for (const m of readme.matchAll(/<!-- package-test: (\S+) -->\s*\n```[a-z]*\n([\s\S]*?)\n```/g)) {
    if (blocks.has(m[1])) throw new Error(`README.md marks two blocks as ${m[1]}`);
    blocks.set(m[1], `${m[2]}\n`);
  }
  return blocks;
}

function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

/** Starts the built consumer app; resolves once it logs that it listens. */
function startApp(cwd, env) {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd,
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const app = { child, output: '', waiters: [] };
  const onData = (chunk) => {
    app.output += chunk;
    for (const w of [...app.waiters]) if (w.test(app.output)) w.done();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  app.exited = new Promise((resolvePromise) => child.on('close', (code, signal) => resolvePromise(code ?? signal)));
  /** Resolves when the app's output satisfies test; rejects if the app exits first or after timeoutMs. */
  app.waitFor = (what, test, timeoutMs = 60_000) =>
    new Promise((resolvePromise, reject) => {
      if (test(app.output)) return resolvePromise();
      const timer = setTimeout(
        () => reject(new Error(`app never logged ${what}:\n${app.output.slice(-4000)}`)),
        timeoutMs,
      );
      const waiter = {
        test,
        done: () => {
          clearTimeout(timer);
          app.waiters.splice(app.waiters.indexOf(waiter), 1);
          resolvePromise();
        },
      };
      app.waiters.push(waiter);
      app.exited.then((code) => reject(new Error(`app exited (${code}) before ${what}:\n${app.output.slice(-4000)}`)));
    });
  return app;
}

async function getJson(url) {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

function checkTarball(files) {
  console.log(`tarball: ${files.length} files`);
  const stray = files.filter((f) => !ALLOWED.some((p) => p.test(f)) || FORBIDDEN.some((p) => p.test(f)));
  check('every file in the tarball is allow-listed', stray.length === 0, stray.slice(0, 20).join(', '));
  const targets = [];
  const walk = (value) => {
    if (typeof value === 'string') targets.push(value.replace(/^\.\//, ''));
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(pkg.exports);
  walk(pkg.bin);
  targets.push(pkg.main, pkg.types, 'LICENSE', 'CHANGELOG.md', 'README.md');
  const missing = targets.filter((t) => !files.includes(t));
  check(
    'every exports/bin/main/types target, LICENSE and CHANGELOG.md are in the tarball',
    missing.length === 0,
    missing.join(', '),
  );
}

/**
 * The README's src/main.ts as written, but for its AppModule import: the consumer starts the README's
 * AppModule together with the README's OperationsModule (src/consumer.module.ts), as the README says.
 */
function withConsumerModule(main) {
  const original = "import { AppModule } from './app.module';";
  if (!main.includes(original)) throw new Error(`README's src/main.ts no longer has: ${original}`);
  return main.replace(original, "import { ConsumerModule as AppModule } from './consumer.module';");
}

async function consumer(line, tarball, blocks, work) {
  console.log(`\n${line}: a throw-away app in ${join(work, line)}`);
  const dir = join(work, line);
  cpSync(join(here, 'app'), dir, { recursive: true });
  cpSync(join(here, line), dir, { recursive: true });
  for (const [name, text] of blocks) {
    if (name.endsWith('.sh')) continue;
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), name === 'src/main.ts' ? withConsumerModule(text) : text);
  }
  const npmFlags = ['--no-audit', '--no-fund', '--prefer-offline'];
  await run('npm', ['install', ...npmFlags], { cwd: dir });
  // The README's install commands, as written, but with the tarball in place of the package's name.
  const install = blocks.get('install.sh').replaceAll(`${pkg.name} `, `${tarball} `);
  await run('bash', ['-euo', 'pipefail', '-c', install], { cwd: dir, env: { npm_config_prefer_offline: 'true' } });
  await run('bash', ['-euo', 'pipefail', '-c', blocks.get('install-operations.sh')], { cwd: dir });
  await run('bash', ['-euo', 'pipefail', '-c', blocks.get('install-http.sh')], { cwd: dir });
  await run('bash', ['-euo', 'pipefail', '-c', blocks.get('jest-script.sh')], { cwd: dir });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  check(
    `${line}: the README's install adds the package and its peers to dependencies`,
    [pkg.name, '@nestjs/typeorm', '@nestjs/event-emitter', 'typeorm', 'better-sqlite3'].every(
      (n) => manifest.dependencies?.[n],
    ),
  );
  const nestVersion = JSON.parse(readFileSync(join(dir, 'node_modules/@nestjs/core/package.json'), 'utf8')).version;
  check(`${line}: runs on @nestjs/core ${nestVersion}`, nestVersion.startsWith(line.slice(4) + '.'));
  const hasSwagger = existsSync(join(dir, 'node_modules/@nestjs/swagger/package.json'));
  check(
    `${line}: @nestjs/swagger is ${line === 'nest11' ? 'installed (the app has it)' : 'absent (optional peer)'}`,
    hasSwagger === (line === 'nest11'),
  );

  // Type-checks the app (CommonJS, require types) and the README's test (ESM, import types).
  await run('npm', ['run', 'build', '--silent'], { cwd: dir });
  await run(join(dir, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.spec.json', '--noEmit'], { cwd: dir });
  check(`${line}: the app and the README's test type-check`, true);

  const port = await freePort();
  const app = startApp(dir, {
    PORT: String(port),
    SQLITE_PATH: join(dir, 'data/app.sqlite'),
    HUAWEI_CALLBACK_KEY: KEY,
  });
  try {
    await app.waitFor('that it listens', (out) => /\[Main\].*listening on http/.test(out));
    check(`${line}: the app starts`, true);
    const base = `http://127.0.0.1:${port}`;
    const headers = (await fetch(`${base}/health`)).headers;
    check(
      `${line}: the README's main.ts sends helmet's headers (nosniff, no X-Powered-By)`,
      headers.get('x-content-type-options') === 'nosniff' && headers.get('x-powered-by') === null,
    );
    const oversized = await fetch(`${base}/recording-callbacks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(70 * 1024) }),
    });
    check(`${line}: boundedJsonBody refuses a body over 64 KiB with 413`, oversized.status === 413);
    const simulate = join(dir, 'node_modules/.bin/huawei-live-recording-simulate');
    const args = ['--url', `${base}/recording-callbacks`, '--key', KEY, '--count', '3', '--files', '2'];
    args.push('--formats', 'HLS,MP4', '--fail-rate', '0', '--run-id', 'pkg', '--json', '--no-progress');
    const summary = JSON.parse(await run(simulate, args, { cwd: dir, timeoutMs: 120_000 }));
    check(
      `${line}: the simulator bin sends 30 signed callbacks, all accepted`,
      summary.ok && summary.callbacks === 30 && summary.byResult?.accepted === 30,
      JSON.stringify(summary.byStatus),
    );
    const files = (out) => (out.match(/\[RecordingFilesListener\].*file complete at https:\/\//g) ?? []).length;
    await app.waitFor('12 completed files from its handler', (out) => files(out) >= 12);
    check(
      `${line}: the README's handler logs each of the 12 files once`,
      files(app.output) === 12,
      `${files(app.output)} lines`,
    );
    const list = await getJson(`${base}/recording-tasks?limit=100`);
    check(
      `${line}: GET /recording-tasks lists 3 tasks, all OVER`,
      list.status === 200 && list.body.items.length === 3 && list.body.items.every((t) => t.status === 'OVER'),
      JSON.stringify(list.body).slice(0, 300),
    );
    const task = await getJson(`${base}/recording-tasks/sim-pkg-1`);
    check(
      `${line}: GET /recording-tasks/sim-pkg-1 has 4 complete files`,
      task.status === 200 && task.body.files.length === 4 && task.body.files.every((f) => f.status === 'COMPLETE'),
      JSON.stringify(task.body).slice(0, 300),
    );
    const health = await getJson(`${base}/health`);
    check(
      `${line}: GET /health (RecordingHealthModule) answers 200 ok`,
      health.status === 200 && health.body.status === 'ok',
      JSON.stringify(health.body).slice(0, 300),
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const accepted = [...metrics.matchAll(/^recording_callbacks_total\{[^}]*result="accepted"[^}]*\} (\d+)$/gm)]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    check(
      `${line}: GET /metrics (RecordingMetricsModule) counts the 30 accepted callbacks`,
      accepted === 30,
      metrics
        .split('\n')
        .filter((l) => l.startsWith('recording_callbacks_total'))
        .join(' | '),
    );
    if (hasSwagger) {
      const doc = JSON.parse(
        await run(process.execPath, ['dist/openapi-document.js'], {
          cwd: dir,
          env: { SQLITE_PATH: join(dir, 'data/app.sqlite'), HUAWEI_CALLBACK_KEY: KEY },
          quiet: true,
        }),
      );
      const schema = doc.components?.schemas?.RecordFileCompleteDto;
      check(
        `${line}: the OpenAPI document has the module's routes and models`,
        !!doc.paths?.['/recording-callbacks'] &&
          !!schema?.properties?.download_url &&
          !!doc.components.schemas.RecordingTask,
      );
    }
  } finally {
    app.child.kill('SIGTERM');
    await app.exited;
  }

  const jest = await run('npm', ['run', 'test:e2e', '--silent'], { cwd: dir, timeoutMs: 300_000 });
  const tests = jest.match(/Tests:\s+(.*) total/)?.[1] ?? '';
  check(
    `${line}: the README's in-process Jest e2e test passes (${tests})`,
    /^\d+ passed, \d+$/.test(tests.trim()) && !/failed/.test(tests),
  );

  if (line === 'nest11') {
    // A NestJS 11 app that keeps the CommonJS @nestjs/typeorm 11 and @nestjs/event-emitter 3, with Jest
    // in CommonJS mode: Jest then loads the library's CommonJS build.
    await run('npm', ['install', ...npmFlags, '@nestjs/typeorm@^11.0.3', '@nestjs/event-emitter@^3.1.0'], { cwd: dir });
    const major = (name) =>
      JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version.split('.')[0];
    check(
      `${line}: now on @nestjs/typeorm 11 and @nestjs/event-emitter 3`,
      major('@nestjs/typeorm') === '11' && major('@nestjs/event-emitter') === '3',
    );
    const cjs = await run(join(dir, 'node_modules/.bin/jest'), ['--config', 'jest.cjs.config.cjs'], {
      cwd: dir,
      timeoutMs: 300_000,
    });
    const cjsTests = cjs.match(/Tests:\s+(.*) total/)?.[1] ?? '';
    check(
      `${line}: with @nestjs/typeorm 11, @nestjs/event-emitter 3 and Jest in CommonJS mode, the same test passes (${cjsTests})`,
      /^\d+ passed, \d+$/.test(cjsTests.trim()),
    );
  }
}

async function main() {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'recording-package-'));
  let ok = false;
  try {
    const blocks = readmeBlocks();
    const needed = [
      'install.sh',
      'install-http.sh',
      'src/main.ts',
      'install-operations.sh',
      'src/operations.module.ts',
      'jest-script.sh',
      'jest.config.mjs',
      'tsconfig.spec.json',
      'src/app.module.ts',
      'src/recording-files.listener.ts',
      'test/recordings.e2e-spec.ts',
    ];
    const absent = needed.filter((n) => !blocks.has(n));
    if (!check('README.md marks every block the package test runs', absent.length === 0, absent.join(', '))) return;

    console.log('build and pack');
    await run('npm', ['run', 'build:lib', '--silent']);
    const packed = JSON.parse(await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work]))[0];
    const tarball = join(work, packed.filename);
    console.log(`  ${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`);
    checkTarball(packed.files.map((f) => f.path));
    // Are the Types Wrong: every entry point's types resolve, for require and for import, under node10,
    // node16 and bundler resolution, and match the JavaScript's module format.
    const attw = await run(join(root, 'node_modules/.bin/attw'), [tarball], { quiet: true }).catch((e) => e.message);
    check(
      'types of every entry point resolve for require and import (attw)',
      /No problems found/.test(attw),
      attw.slice(-1500),
    );

    for (const line of LINES) {
      try {
        await consumer(line, tarball, blocks, work);
      } catch (error) {
        check(`${line}: consumer app`, false, error.message);
      }
    }
    ok = failed === 0;
  } finally {
    console.log(`\npackage test took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (process.env.KEEP_PACKAGE_APPS === '1' || !ok) console.log(`consumer apps kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main()
  .catch((error) => check('package test', false, error.stack))
  .finally(() => {
    if (failures.length) console.log(`\nfailures:\n- ${failures.join('\n- ')}`);
    console.log(`\n${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
  });
