import type { Admin, Kafka } from '../runtime/kafka/kafkajs/client';
import { KafkajsPartitionReader } from '../runtime/kafka/kafkajs/partition-reader';
import { textHeaders } from '../runtime/records';
import type { TopicRecord } from './outputs';

/** A record read back from Kafka, with its offset. */
export interface LiveRecord extends TopicRecord {
  offset: bigint;
  timestamp: string;
}

/**
 * Reads whole topics as a downstream consumer sees them (read_committed:
 * aborted transactions never show), every partition from its first offset
 * to its last stable one, in offset order.
 */
export async function readTopics(kafka: Kafka, admin: Admin, topics: readonly string[]): Promise<Map<string, LiveRecord[]>> {
  const reader = new KafkajsPartitionReader(kafka);
  await reader.connect();
  const out = new Map<string, LiveRecord[]>();
  try {
    for (const topic of topics) {
      const partitions = (await admin.fetchTopicOffsets(topic)).map((p) => p.partition).sort((a, b) => a - b);
      const bounds = await reader.bounds(topic, partitions);
      const records: LiveRecord[] = [];
      for (const partition of partitions) {
        const { start, end } = bounds.get(partition)!;
        if (start >= end) continue;
        await reader.read({
          topic,
          partition,
          from: start,
          until: end,
          onRecords: async (batch) => {
            for (const r of batch) {
              records.push({ topic, partition, offset: BigInt(r.offset), key: r.key, value: r.value, headers: textHeaders(r.headers), timestamp: r.timestamp });
            }
          },
        });
      }
      out.set(topic, records);
    }
  } finally {
    await reader.disconnect();
  }
  return out;
}

/** Latest value per key of a compacted topic (a changelog), as a restore would rebuild it. */
export function lastValues(records: readonly TopicRecord[]): Map<string, string | null> {
  const values = new Map<string, string | null>();
  for (const r of records) if (r.key) values.set(`${r.partition}/${r.key.toString('utf8')}`, r.value?.toString('hex') ?? null);
  for (const [key, value] of values) if (value === null) values.delete(key);
  return values;
}
