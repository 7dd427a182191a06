import type { TaskCommit, TaskProducer, TaskProducerOptions } from '../adapter';
import { sendInChunks, type ProducedBatch } from '../produce-chunks';
import { Partitioners, type Kafka, type Producer, type RecordMetadata } from './client';
import { kafkaError, withKafkaErrors } from './errors';
import { toTopicMessages } from './topic-messages';

/** Longer than any commit: the broker aborts a transaction left open this long by a stopped owner. */
const TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * A task's producer, connected. Exactly-once it is also initialised for its
 * transactional id before it is returned: the previous owner is fenced and
 * its open transaction completed (committed if it had asked to commit,
 * aborted otherwise), so the changelog and the committed offsets read next
 * are final.
 *
 * kafkajs's `connect()` does not do this: it takes an idempotent producer id
 * and leaves InitProducerId for the transactional id to the first
 * `transaction()`. A task then restored and read the group's offsets while
 * its previous transaction was still committing, re-read records that
 * transaction had consumed, and wrote their outputs a second time (the proof
 * suite, seeds 886908 and 874832, with broker restarts). An empty
 * transaction, opened and aborted, runs the init: kafkajs sends no EndTxn
 * for a transaction without partitions or offsets.
 */
export async function connectTaskProducer(kafka: Kafka, options: TaskProducerOptions): Promise<TaskProducer> {
  const transactional = options.guarantee === 'exactly_once';
  const producer = kafka.producer({
    ...(transactional ? { transactionalId: options.transactionalId, transactionTimeout: TRANSACTION_TIMEOUT_MS } : {}),
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  try {
    await producer.connect();
    if (transactional) await (await producer.transaction()).abort();
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw kafkaError(error);
  }
  return transactional ? new TransactionalTaskProducer(producer, options.groupId) : new IdempotentTaskProducer(producer, options.commitOffsets);
}

class TransactionalTaskProducer implements TaskProducer {
  constructor(
    private readonly producer: Producer,
    private readonly groupId: string,
  ) {}

  commit({ records, partition, offsets }: TaskCommit): Promise<Map<string, bigint>> {
    return withKafkaErrors(async () => {
      const transaction = await this.producer.transaction();
      try {
        const checkpoint = await sendInChunks(records, async (chunk) => batches(await transaction.sendBatch({ topicMessages: toTopicMessages(chunk) })));
        await transaction.sendOffsets({
          consumerGroupId: this.groupId,
          topics: [...offsets].map(([topic, offset]) => ({ topic, partitions: [{ partition, offset: offset.toString() }] })),
        });
        await transaction.commit();
        return checkpoint;
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

class IdempotentTaskProducer implements TaskProducer {
  constructor(
    private readonly producer: Producer,
    private readonly commitOffsets: (offsets: { topic: string; partition: number; offset: bigint }[]) => Promise<void>,
  ) {}

  commit({ records, partition, offsets }: TaskCommit): Promise<Map<string, bigint>> {
    return withKafkaErrors(async () => {
      const checkpoint = await sendInChunks(records, async (chunk) => batches(await this.producer.sendBatch({ topicMessages: toTopicMessages(chunk), acks: -1 })));
      await this.commitOffsets([...offsets].map(([topic, offset]) => ({ topic, partition, offset })));
      return checkpoint;
    });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

function batches(metadata: RecordMetadata[]): ProducedBatch[] {
  return metadata.flatMap((m) => (m.baseOffset === undefined ? [] : [{ topic: m.topicName, partition: m.partition, baseOffset: BigInt(m.baseOffset) }]));
}
