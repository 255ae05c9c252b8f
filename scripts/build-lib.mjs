// Builds the published library into lib/: lib/cjs (CommonJS, for `require`, e.g. NestJS 11 apps) and
// lib/esm (ES modules, for `import`, e.g. Jest's ESM mode with the ESM-only NestJS 12 packages), each with
// its type declarations and no source maps. tsc writes extensionless relative imports (the sources are
// CommonJS-style); tsc-alias completes them to full paths, which ES modules need.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

const run = (bin, ...args) => execFileSync(process.execPath, [`node_modules/${bin}`, ...args], { stdio: 'inherit' });

rmSync('lib', { recursive: true, force: true });
run('typescript/bin/tsc', '-p', 'tsconfig.lib.json');
run('typescript/bin/tsc', '-p', 'tsconfig.lib-esm.json');
run('tsc-alias/dist/bin/index.js', '-p', 'tsconfig.lib-esm.json');
// Each half says what its .js files are, whatever the package's own "type" is.
writeFileSync('lib/cjs/package.json', '{ "type": "commonjs" }\n');
writeFileSync('lib/esm/package.json', '{ "type": "module" }\n');
