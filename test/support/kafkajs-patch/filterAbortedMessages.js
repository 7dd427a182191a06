// jest keeps a module registry of its own, so runtime/kafka/kafkajs/patch.ts's require.cache
// replacement never reaches kafkajs under jest; jest.config.js maps kafkajs's requires of the two
// patched modules to these files, so engines run in a test use the same code as in production.
module.exports = require('../../../runtime/kafka/kafkajs/patch').filterAbortedMessages;
