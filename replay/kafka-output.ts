import type { Admin, Kafka, Producer } from '../runtime/kafka/kafkajs/client';
import { produceChunks } from '../runtime/kafka/produce-chunks';
import { toTopicMessages } from '../runtime/kafka/kafkajs/topic-messages';
import { withRetries } from '../runtime/kafka/kafkajs/retry';
import { createTopics } from '../runtime/kafka/kafkajs/topics';
import type { OutputRecord } from '../runtime/records';
import type { SchemaRegistryClient } from '../runtime/serde/registry';
import type { SchemaCatalog } from '../runtime/serde/schema-catalog';
import type { Topology } from '../runtime/topology';
import { topicNames } from '../topology';
import type { OutputSink } from './runner';
import { outputTopics } from './records';

/**
 * --output-prefix: a variant's outputs written to Kafka under a topic
 * prefix, for channel teams or dashboards to read like production's. The
 * topics are created from the variant's topology built with that prefix
 * (schemas registered under the prefixed subjects). Refuses a prefix that
 * would name a production topic, and topics that already hold records (a
 * second run would mix its outputs with the first's).
 */
export class KafkaOutputSink implements OutputSink {
  private constructor(private readonly producer: Producer) {}

  static async create(options: { kafka: Kafka; topology: Topology; prefix: string; registry: SchemaRegistryClient; catalog: SchemaCatalog }): Promise<KafkaOutputSink> {
    const { kafka, topology, prefix } = options;
    checkPrefix(prefix);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const report = await createTopics(admin, topology, { registry: options.registry, catalog: options.catalog });
      if (report.mismatched.length > 0) {
        throw new Error(`--output-prefix ${prefix}: ${report.mismatched.map((m) => `${m.topic} ${m.problem}`).join('; ')}`);
      }
      await refuseNonEmpty(admin, Object.values(outputTopics(prefix)).filter((t) => t !== topicNames(prefix).raw), prefix);
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    return new KafkaOutputSink(producer);
  }

  async write(records: readonly OutputRecord[]): Promise<void> {
    for (const chunk of produceChunks(records)) await this.producer.sendBatch({ topicMessages: toTopicMessages(chunk) });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** A prefix must make every product topic name a new one. */
export function checkPrefix(prefix: string): void {
  if (prefix.trim() === '') throw new Error('--output-prefix must not be empty: the outputs would go to the production topics');
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`--output-prefix '${prefix}' may only hold letters, digits, '.', '_' and '-' (Kafka topic names)`);
  const production = new Set(Object.values(outputTopics('')));
  const clash = Object.values(outputTopics(prefix)).find((t) => production.has(t));
  if (clash) throw new Error(`--output-prefix '${prefix}' names the production topic ${clash}`);
}

async function refuseNonEmpty(admin: Admin, topics: string[], prefix: string): Promise<void> {
  const held: string[] = [];
  for (const topic of topics) {
    const offsets = await withRetries(() => admin.fetchTopicOffsets(topic));
    const records = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    if (records > 0) held.push(`${topic} (${records})`);
  }
  if (held.length > 0) {
    throw new Error(`output topics already hold records from an earlier run: ${held.join(', ')}; choose another --output-prefix than '${prefix}', or delete its topics`);
  }
}
