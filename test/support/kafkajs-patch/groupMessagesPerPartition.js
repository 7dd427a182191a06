// See filterAbortedMessages.js in this folder.
module.exports = require('../../../runtime/kafka/kafkajs/patch').groupMessagesPerPartition;
