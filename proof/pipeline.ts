import type { Touchpoint } from '../processors/model/touchpoint';
import type { Admin, Producer } from '../runtime/kafka/kafkajs/client';
import { produceChunks } from '../runtime/kafka/produce-chunks';
import { toTopicMessages } from '../runtime/kafka/kafkajs/topic-messages';
import { withRetries } from '../runtime/kafka/kafkajs/retry';
import { eventually } from '../runtime/retry';
import type { topicNames } from '../topology';
import type { RawInput } from './workload';

/** How often the proof's engines commit; a settled pipeline has been still for ten of these. */
export const COMMIT_INTERVAL_MS = 100;

export interface RawMessage {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

/** The workload's touchpoints as channels send them: on their partition, Kafka timestamp = event time. */
export function rawMessages(inputs: readonly RawInput[], encode: (t: Touchpoint) => Buffer): RawMessage[] {
  return inputs.map((r) => ({ partition: r.partition, key: r.key, value: encode(r.touchpoint), timestamp: r.touchpoint.occurredAt }));
}

/** Produces in order, partition by partition as given, with an idempotent producer (no duplicates on retry), in requests the broker accepts. */
export async function produce(producer: Producer, topic: string, messages: readonly RawMessage[]): Promise<void> {
  const records = messages.map((m) => ({ topic, partition: m.partition, key: m.key, value: m.value, headers: {}, timestamp: m.timestamp }));
  for (const chunk of produceChunks(records)) await producer.sendBatch({ acks: -1, topicMessages: toTopicMessages(chunk) });
}

export async function committedCount(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await withRetries(() => admin.fetchOffsets({ groupId, topics: [topic] }));
  return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** Polls a real condition until it holds; faults take the broker down meanwhile, so any error means "not yet". */
export function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs: number): Promise<T> {
  return eventually(probe, what, timeoutMs, 100, () => true);
}

/**
 * Everything produced has gone through: the group has committed every raw
 * record and consumed its internal topics to their ends, and nothing moved
 * for a few commit intervals (a last commit may still add records to
 * touchpoints.resolved, which then must be consumed too).
 */
export async function settle(admin: Admin, groupId: string, topics: ReturnType<typeof topicNames>, total: number): Promise<void> {
  let last = '';
  let stableSince = Date.now();
  await waitFor(
    async () => {
      const internal = await Promise.all([topics.links, topics.resolved].map((t) => caughtUp(admin, groupId, t)));
      const raw = await committedCount(admin, groupId, topics.raw);
      const ends = await Promise.all([topics.resolved, topics.commands, topics.decisions, topics.views].map((t) => admin.fetchTopicOffsets(t)));
      const state = JSON.stringify([raw, internal, ends]);
      if (state !== last) {
        last = state;
        stableSince = Date.now();
      }
      return raw === total && internal.every(Boolean) && Date.now() - stableSince >= 10 * COMMIT_INTERVAL_MS;
    },
    'every raw record committed and the internal topics consumed',
    600_000,
  );
}

async function caughtUp(admin: Admin, groupId: string, topic: string): Promise<boolean> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [offsets] = await withRetries(() => admin.fetchOffsets({ groupId, topics: [topic] }));
  return ends.every((end) => Number(end.high) === 0 || offsets!.partitions.find((p) => p.partition === end.partition)?.offset === end.high);
}
