import type { Admin, Consumer, Kafka, KafkaMessage } from './client';
import { withRetries } from './retry';
import { eventually } from '../../retry';
import { AvroSerde } from '../../serde/avro-serde';
import type { SchemaRegistryClient } from '../../serde/registry';
import type { SchemaCatalog } from '../../serde/schema-catalog';

/** Following topics as a downstream consumer does (plain kafkajs, read_committed): the demo, the console, the end-to-end benchmark. */

export type BatchHandler = (messages: KafkaMessage[], partition: number) => Promise<void> | void;

/**
 * Follows topics from their beginning with its own consumer group,
 * read_committed (what any downstream consumer sees), and knows how far it
 * has read: `caughtUp` compares its positions (control records included,
 * which kafkajs reports as consumed) with the topics' end offsets.
 */
export class TopicFollower {
  private readonly positions = new Map<string, bigint>();
  private consumer?: Consumer;
  private failure?: Error;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly handlers: Record<string, BatchHandler>,
    private readonly options: { maxWaitTimeInMs?: number; maxBytesPerPartition?: number } = {},
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 250,
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1024 * 1024,
      // A follower is alone in its group: no need to wait for others on join.
      rebalanceTimeout: 10_000,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      this.positions.set(`${payload.topic}:${payload.partition}`, BigInt(payload.lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.failure = payload.error;
    });
    await consumer.connect();
    await consumer.subscribe({ topics: Object.keys(this.handlers), fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length > 0) await this.handlers[batch.topic]!(batch.messages, batch.partition);
      },
    });
  }

  /** Has read every partition of every topic up to the end offsets the broker reports now. */
  async caughtUp(admin: Admin): Promise<boolean> {
    if (this.failure) throw this.failure;
    for (const topic of Object.keys(this.handlers)) {
      for (const p of await withRetries(() => admin.fetchTopicOffsets(topic))) {
        if (BigInt(p.high) <= BigInt(p.low)) continue;
        if ((this.positions.get(`${topic}:${p.partition}`) ?? 0n) < BigInt(p.high)) return false;
      }
    }
    return true;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** Sum over partitions of a group's committed offsets on a topic (0 where none). */
export async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await withRetries(() => admin.fetchOffsets({ groupId, topics: [topic] }));
  return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** Sum over partitions of a topic's end offsets (high watermarks). */
export async function endTotal(admin: Admin, topic: string): Promise<number> {
  return (await withRetries(() => admin.fetchTopicOffsets(topic))).reduce((sum, p) => sum + Number(p.high), 0);
}

/**
 * Reads a topic from its start to the end offsets it has now, read_committed,
 * calling `onBatch` for each batch (so a large topic is never held at once).
 */
export async function readTopicToEnd(kafka: Kafka, admin: Admin, topic: string, groupId: string, onBatch: BatchHandler, timeoutMs = 120_000): Promise<void> {
  const follower = new TopicFollower(kafka, groupId, { [topic]: onBatch }, { maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
  await follower.start();
  try {
    await eventually(() => follower.caughtUp(admin), `reading ${topic} to its end`, timeoutMs, 200);
  } finally {
    await follower.stop();
  }
}

/** Decodes a batch with a registry-backed Avro serde (writer schemas fetched once per id). */
export function decoding<T>(registry: SchemaRegistryClient, catalog: SchemaCatalog, type: string, each: (value: T | null, message: KafkaMessage) => void): BatchHandler {
  const serde = new AvroSerde<T>(registry, catalog.type(type));
  return async (messages) => {
    await serde.prepare('', messages.map((m) => m.value));
    for (const m of messages) each(m.value === null ? null : serde.deserialize('', m.value), m);
  };
}

