// Jest in its default CommonJS mode, as NestJS 11 apps have it: the package test runs the README's e2e
// test with it once the app is back on @nestjs/typeorm 11 and @nestjs/event-emitter 3 (CommonJS packages),
// so that the library's CommonJS build is what Jest loads.
module.exports = {
  testEnvironment: 'node',
  testRegex: '\\.e2e-spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
};
