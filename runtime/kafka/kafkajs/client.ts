// kafkajs, with the patch that must be applied before it loads (see patch.ts).
// Product code imports the Kafka client from here, never from 'kafkajs' directly.
import './patch';
import type { Logger } from 'pino';
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaConnection } from '../connection';

export * from 'kafkajs';

/** LP_KAFKAJS_LOG_LEVEL: how much of kafkajs's own logging to pass on (default warn). */
const KAFKAJS_LEVELS: Record<string, logLevel> = { error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG };

/** A client whose own log lines go to `log` (pino), at LP_KAFKAJS_LOG_LEVEL and above. */
export function loggingKafka(clientId: string, connection: KafkaConnection, log: Logger): Kafka {
  return new Kafka({
    clientId,
    ...connection,
    logLevel: KAFKAJS_LEVELS[process.env.LP_KAFKAJS_LOG_LEVEL ?? 'warn'] ?? logLevel.WARN,
    logCreator: () => (entry) => {
      const level = entry.level <= logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : entry.level === logLevel.INFO ? 'info' : 'debug';
      log[level]({ kafkajs: entry.log }, entry.log.message);
    },
  });
}
