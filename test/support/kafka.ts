import { randomBytes } from 'node:crypto';
import { Admin, Consumer, Kafka, KafkaMessage, logLevel, Producer } from '../../runtime/kafka/kafkajs/client';
import { createPlainTopics } from '../../runtime/kafka/kafkajs/topics';
import { stackEndpoints } from '../../local-stack/settings';
import { withRetries } from '../../runtime/kafka/kafkajs/retry';

/** Clients for the real local stack, with names no other test run uses. */
export function testKafka(clientId = 'listening-post-test'): Kafka {
  return new Kafka({ clientId, brokers: stackEndpoints().brokers, logLevel: logLevel.NOTHING });
}

/**
 * A producer whose retries cannot duplicate records: tests count records
 * exactly, and a retried send on a loaded machine would otherwise write a
 * batch twice.
 */
export function testProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
}

/** A test file's Kafka client and an admin connected for its tests (jest hooks: connected before them, disconnected after). */
export function connectedAdmin(): { kafka: Kafka; admin: Admin } {
  const kafka = testKafka();
  const admin = kafka.admin();
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());
  return { kafka, admin };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function createTopics(admin: Admin, topics: string[], partitions = 4): Promise<void> {
  await createPlainTopics(admin, topics, partitions);
}

/**
 * Reads a whole topic with a read_committed consumer group: every partition
 * from its start to the end offset it had when the read began. Returns the
 * messages in partition order. Transaction markers and aborted records are
 * skipped by the broker/client, but still count towards reaching the end.
 */
export async function readToEnd(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  const starts = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.low)]));
  await admin.disconnect();
  const position = new Map<number, bigint>(starts);
  const byPartition = new Map<number, KafkaMessage[]>();
  const finished = () => [...ends].every(([p, end]) => position.get(p)! >= end);
  if (finished()) return [];
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: not read to the end within ${timeoutMs} ms`)), timeoutMs);
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        position.set(payload.partition, BigInt(payload.lastOffset) + 1n);
        if (finished()) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            const list = byPartition.get(batch.partition) ?? [];
            list.push(...batch.messages.filter((m) => BigInt(m.offset) < ends.get(batch.partition)!));
            byPartition.set(batch.partition, list);
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return [...byPartition.keys()].sort((a, b) => a - b).flatMap((p) => byPartition.get(p)!);
}

/** End offsets (high watermarks) summed over partitions. */
export async function messageCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/**
 * The group has consumed every partition of the topic up to its current end
 * (offsets count transaction markers too, so compare with the end offsets,
 * not with a number of records).
 */
export async function caughtUp(admin: Admin, groupId: string, topic: string): Promise<boolean> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [offsets] = await withRetries(() => admin.fetchOffsets({ groupId, topics: [topic] }));
  return ends.every((end) => Number(end.high) === 0 || offsets!.partitions.find((p) => p.partition === end.partition)!.offset === end.high);
}

/** The engine group has committed everything on touchpoints.raw, identity.links and touchpoints.resolved: the product has caught up with its input. */
export async function productCaughtUp(admin: Admin, groupId: string, topics: { raw: string; links: string; resolved: string }): Promise<boolean> {
  for (const topic of [topics.raw, topics.links, topics.resolved]) if (!(await caughtUp(admin, groupId, topic))) return false;
  return true;
}
