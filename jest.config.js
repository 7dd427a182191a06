/**
 * Two projects: `unit` runs processors and the runtime on the in-process
 * driver (no broker); `integration` runs against the real local stack,
 * which its global setup starts when it is not already up.
 */
// Transpile only (types are checked by `npm run typecheck`), so tests start fast.
// @platformatic/kafka and its own packages are ES modules, which Node 20.19+ loads with require() but
// jest's module registry cannot: they are transformed to CommonJS (import.meta.url included).
const ES_MODULE_PACKAGES = '@platformatic';
const transform = {
  '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  [`/node_modules/${ES_MODULE_PACKAGES}/.+\\.js$`]: ['babel-jest', { babelrc: false, configFile: false, plugins: [['babel-plugin-transform-import-meta', { module: 'ES6' }], '@babel/plugin-transform-export-namespace-from', '@babel/plugin-transform-modules-commonjs'] }],
};
const transformIgnorePatterns = [`/node_modules/(?!${ES_MODULE_PACKAGES}/)`];
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
      transformIgnorePatterns,
      moduleNameMapper,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/support/scratch.ts',
      globalTeardown: '<rootDir>/test/support/scratch-teardown.ts',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      moduleNameMapper,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/scratch-teardown.ts',
    },
  ],
};
