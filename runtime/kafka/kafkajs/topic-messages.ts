import type { OutputRecord } from '../../records';
import type { TopicMessages } from './client';

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
