/**
 * Two projects: `unit` runs processors and the runtime on the in-process
 * driver (no broker); `integration` runs against the real local stack,
 * which its global setup starts when it is not already up.
 */
// Transpile only (types are checked by `npm run typecheck`), so tests start fast.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
// kafkajs's modules that runtime/kafka/kafkajs/patch.ts replaces through require.cache, which jest's
// own module registry never consults: map kafkajs's requires of them to the patched functions.
const moduleNameMapper = {
  '^(\\./|kafkajs/src/consumer/)filterAbortedMessages$': '<rootDir>/test/support/kafkajs-patch/filterAbortedMessages.js',
  '^(\\./|kafkajs/src/producer/)groupMessagesPerPartition$': '<rootDir>/test/support/kafkajs-patch/groupMessagesPerPartition.js',
};

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      moduleNameMapper,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/support/scratch.ts',
      globalTeardown: '<rootDir>/test/support/scratch-teardown.ts',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform,
      moduleNameMapper,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/scratch-teardown.ts',
    },
  ],
};
