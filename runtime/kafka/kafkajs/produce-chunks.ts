import type { OutputRecord } from '../../records';
import type { TopicMessages } from './client';

/**
 * A commit's records go out in produce requests of at most this many
 * records and bytes. kafkajs puts all of a request's records for one
 * partition into one record batch, and the broker refuses a batch over
 * `message.max.bytes` (1 MiB by default) with MESSAGE_TOO_LARGE: a commit of
 * 2,000 profile changelog records (~2 KB each) failed that way on every try.
 */
export const PRODUCE_LIMITS = { records: 2000, bytes: 512 * 1024 };

/** What a record adds to a produce request, roughly: key, value, headers and per-record overhead. */
function recordBytes(r: OutputRecord): number {
  let bytes = (r.key?.length ?? 0) + (r.value?.length ?? 0) + 32;
  for (const name in r.headers) bytes += name.length + r.headers[name]!.length;
  return bytes;
}

/** Consecutive runs of the records, in order, each within the limits (a record over them alone). */
export function* produceChunks(records: readonly OutputRecord[], limits = PRODUCE_LIMITS): Generator<OutputRecord[]> {
  let chunk: OutputRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (chunk.length > 0 && (chunk.length === limits.records || bytes + size > limits.bytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** Records as kafkajs's `sendBatch` takes them: grouped by topic, partition chosen already. */
export function toTopicMessages(records: readonly OutputRecord[]): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const r of records) {
    let entry = byTopic.get(r.topic);
    if (!entry) byTopic.set(r.topic, (entry = { topic: r.topic, messages: [] }));
    entry.messages.push({ key: r.key, value: r.value, partition: r.partition, headers: r.headers, timestamp: String(r.timestamp) });
  }
  return [...byTopic.values()];
}
