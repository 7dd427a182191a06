/**
 * Two projects: `unit` runs processors and the runtime on the in-process
 * driver (no broker); `integration` runs against the real local stack,
 * which its global setup starts when it is not already up.
 */
// Transpile only (types are checked by `npm run typecheck`), so tests start fast.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
    },
  ],
};
