// Jest runs in ESM mode because NestJS 12 packages are ESM-only; ts-jest compiles
// with tsconfig.spec.json (module esnext, decorator metadata on).
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.spec.json' }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
  transform,
};

/** @type {import('jest').Config} */
module.exports = {
  // testTimeout is a global option: Jest ignores it inside a project.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', rootDir: __dirname, roots: ['<rootDir>/src'], testMatch: ['**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      rootDir: __dirname,
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      // test/package holds templates of consumer apps, run by npm run test:package.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/package/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
