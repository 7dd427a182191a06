import { Admin, FindCoordinatorKeyTypes, Producer, stringSerializer, type Consumer, type Message, type MessageToProduce, type ProducerOptions } from '@platformatic/kafka';
import type { OutputRecord } from '../../records';
import type { TaskCommit, TaskProducer, TaskProducerOptions } from '../adapter';
import type { KafkaConnection } from '../connection';
import { sendInChunks } from '../produce-chunks';
import { withKafkaErrors } from './errors';

type Headers = Record<string, string>;
type TaskMessageProducer = Producer<Buffer, Buffer, string, string>;

/**
 * The client sends its request timeout as the transaction timeout of
 * InitProducerId: longer than any commit, and the broker aborts a
 * transaction left open this long by a stopped owner.
 */
const TRANSACTION_TIMEOUT_MS = 60_000;

/** The client's options for `connection` (brokers, TLS, SASL). */
function clientOptions(clientId: string, connection: KafkaConnection): { clientId: string; bootstrapBrokers: string[] } & Pick<ProducerOptions<Buffer, Buffer, string, string>, 'tls' | 'sasl'> {
  return {
    clientId,
    bootstrapBrokers: connection.brokers,
    ...(connection.ssl ? { tls: connection.ssl === true ? {} : connection.ssl } : {}),
    ...(connection.sasl ? { sasl: { mechanism: connection.sasl.mechanism.toUpperCase() as 'PLAIN', username: connection.sasl.username, password: connection.sasl.password } } : {}),
  };
}

/**
 * A task's producer on @platformatic/kafka, connected; exactly-once it is
 * initialised for its transactional id first (InitProducerId fences the
 * previous owner and completes its open transaction), as the kafkajs one is.
 *
 * The offsets go in the task's transaction without the group's generation
 * (TxnOffsetCommit with generation -1, as kafkajs sends them): each task has
 * its own transactional id, which is what fences a stale owner here.
 */
export async function connectTaskProducer(clientId: string, connection: KafkaConnection, options: TaskProducerOptions): Promise<TaskProducer> {
  const transactional = options.guarantee === 'exactly_once';
  const producer: TaskMessageProducer = new Producer({
    ...clientOptions(clientId, connection),
    ...(transactional ? { transactionalId: options.transactionalId } : {}),
    idempotent: true,
    // A new producer (-1): the client's default (0, 0) asks the broker to check an epoch it never had.
    producerId: -1n,
    producerEpoch: -1,
    acks: -1,
    timeout: TRANSACTION_TIMEOUT_MS,
    serializers: { headerKey: stringSerializer, headerValue: stringSerializer },
  });
  try {
    if (!transactional) return new IdempotentTaskProducer(producer, options.commitOffsets);
    const coordinator = await groupCoordinator(clientId, connection, options.groupId);
    await withKafkaErrors(async () => (await producer.beginTransaction()).cancel());
    return new TransactionalTaskProducer(producer, options.groupId, coordinator);
  } catch (error) {
    await producer.close().catch(() => undefined);
    throw error;
  }
}

/** The group's coordinator at connect; should it move, TxnOffsetCommit fails, and the commit's recovery connects a new producer. */
async function groupCoordinator(clientId: string, connection: KafkaConnection, groupId: string): Promise<number> {
  const admin = new Admin(clientOptions(`${clientId}-coordinator`, connection));
  try {
    const [found] = await withKafkaErrors(() => admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: [groupId] }));
    return found!.nodeId;
  } finally {
    await admin.close().catch(() => undefined);
  }
}

function messages(chunk: readonly OutputRecord[]): MessageToProduce<Buffer, Buffer, string, string>[] {
  return chunk.map((r) => ({ topic: r.topic, partition: r.partition, key: r.key ?? undefined, value: r.value ?? undefined, headers: r.headers as Headers, timestamp: BigInt(r.timestamp) }));
}

async function send(send: (messages: MessageToProduce<Buffer, Buffer, string, string>[]) => Promise<{ offsets?: { topic: string; partition: number; offset: bigint }[] }>, records: readonly OutputRecord[]): Promise<Map<string, bigint>> {
  return sendInChunks(records, async (chunk) => ((await send(messages(chunk))).offsets ?? []).map((o) => ({ topic: o.topic, partition: o.partition, baseOffset: o.offset })));
}

class TransactionalTaskProducer implements TaskProducer {
  constructor(
    private readonly producer: TaskMessageProducer,
    private readonly groupId: string,
    private readonly coordinatorId: number,
  ) {}

  commit({ records, partition, offsets }: TaskCommit): Promise<Map<string, bigint>> {
    return withKafkaErrors(async () => {
      const transaction = await this.producer.beginTransaction();
      try {
        const checkpoint = await send((m) => transaction.send({ messages: m }), records);
        // The client's offset calls take its own consumer and messages; they read only the group id,
        // and a message's topic, partition, offset and group (TxnOffsetCommit commits offset + 1).
        await transaction.addConsumer({ groupId: this.groupId } as Consumer);
        const consumer = { groupId: this.groupId, generationId: -1, memberId: '', coordinatorId: this.coordinatorId };
        for (const [topic, offset] of offsets) {
          await transaction.addOffset({ topic, partition, offset: offset - 1n, metadata: { consumer } } as unknown as Message);
        }
        await transaction.commit();
        return checkpoint;
      } catch (error) {
        if (!transaction.completed) await transaction.abort().catch(() => transaction.cancel().catch(() => undefined));
        throw error;
      }
    });
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

class IdempotentTaskProducer implements TaskProducer {
  constructor(
    private readonly producer: TaskMessageProducer,
    private readonly commitOffsets: (offsets: { topic: string; partition: number; offset: bigint }[]) => Promise<void>,
  ) {}

  async commit({ records, partition, offsets }: TaskCommit): Promise<Map<string, bigint>> {
    const checkpoint = await withKafkaErrors(() => send((m) => this.producer.send({ messages: m }), records));
    await this.commitOffsets([...offsets].map(([topic, offset]) => ({ topic, partition, offset })));
    return checkpoint;
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
