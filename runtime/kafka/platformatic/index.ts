import type { KafkaClient, TaskProducerOptions } from '../adapter';
import type { KafkaConnection } from '../connection';
import { connectTaskProducer } from './task-producer';

/**
 * `base` with its tasks' producers on @platformatic/kafka 1.35 (pinned):
 * the group, the readers and the admin stay `base`'s. The producer is where
 * the two clients differ most for the engine (a commit is mostly sending,
 * bench/RESULTS.md), so this is the side-by-side issue 15 asks for.
 */
export function withPlatformaticProducers(base: KafkaClient, clientId: string, connection: KafkaConnection): KafkaClient {
  return { ...base, taskProducer: (options: TaskProducerOptions) => connectTaskProducer(clientId, connection, options) };
}
