import { Partitioners, type Kafka, type Producer } from './client';

/** Longer than any commit: the broker aborts a transaction left open this long by a stopped owner. */
const TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * A task's own producer, connected. With a transactional id (exactly-once)
 * it is also initialised for that id before it is returned: the previous
 * owner is fenced and its open transaction completed (committed if it had
 * asked to commit, aborted otherwise), so the changelog and the committed
 * offsets read next are final.
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
export async function connectTaskProducer(kafka: Kafka, transactionalId: string | undefined): Promise<Producer> {
  const producer = kafka.producer({
    ...(transactionalId !== undefined ? { transactionalId, transactionTimeout: TRANSACTION_TIMEOUT_MS } : {}),
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  try {
    await producer.connect();
    if (transactionalId !== undefined) await (await producer.transaction()).abort();
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
  return producer;
}
