import { setTimeout as delay } from 'node:timers/promises';
import { TopologyError } from '../../errors';
import type { Admin, ITopicConfig } from './client';
import { withRetries } from './retry';
import type { SchemaCatalog } from '../../serde/schema-catalog';
import type { SchemaRegistryClient } from '../../serde/registry';
import type { TopicSpec, Topology } from '../../topology';

export interface TopicReport {
  created: string[];
  existing: string[];
  /** Topics that exist with another partition count or cleanup policy than the topology needs. */
  mismatched: { topic: string; problem: string }[];
  schemas: { subject: string; id: number }[];
}

export interface TopicOptions {
  /**
   * Keep every record of non-compacted topics however old its timestamp
   * (retention.ms -1). Records carry event time, so a run over simulated or
   * recorded time (the demo, the proof, benchmarks) would otherwise see its
   * outputs deleted by time-based retention minutes after writing them.
   */
  keepForever?: boolean;
}

function config(spec: TopicSpec, options: TopicOptions): ITopicConfig {
  const configEntries = [
    { name: 'cleanup.policy', value: spec.compacted ? 'compact' : 'delete' },
    // Timestamps are event times, i.e. the channels' clocks: a channel whose clock runs an hour
    // ahead must not make the broker refuse a commit (Kafka 4 refuses > 1 h by default), which
    // would stop the partition for good.
    { name: 'message.timestamp.after.max.ms', value: '9223372036854775807' },
  ];
  const retention = options.keepForever && !spec.compacted ? -1 : spec.retentionMs;
  if (retention !== undefined) configEntries.push({ name: 'retention.ms', value: String(retention) });
  return { topic: spec.name, numPartitions: spec.partitions, configEntries };
}

async function describe(admin: Admin, topology: Topology): Promise<{ existing: Map<string, number>; mismatched: TopicReport['mismatched'] }> {
  const names = new Set(await admin.listTopics());
  const wanted = topology.topics.filter((t) => names.has(t.name));
  const existing = new Map<string, number>();
  const mismatched: TopicReport['mismatched'] = [];
  if (wanted.length === 0) return { existing, mismatched };
  const metadata = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.name) });
  for (const topic of metadata.topics) {
    existing.set(topic.name, topic.partitions.length);
    const spec = topology.topics.find((t) => t.name === topic.name)!;
    if (topic.partitions.length !== spec.partitions) {
      mismatched.push({
        topic: topic.name,
        problem: `has ${topic.partitions.length} partitions, the topology needs ${spec.partitions} (keys would land on other partitions than their state: recreate the topic or change the partition count)`,
      });
    }
  }
  return { existing, mismatched };
}

/** Creates missing topics, reports mismatched ones and registers value schemas; safe to run again. */
export async function createTopics(
  admin: Admin,
  topology: Topology,
  schemas?: { registry: SchemaRegistryClient; catalog: SchemaCatalog },
  options: TopicOptions = {},
): Promise<TopicReport> {
  const { existing, mismatched } = await describe(admin, topology);
  const missing = topology.topics.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    await admin.createTopics({ topics: missing.map((t) => config(t, options)), waitForLeaders: false });
    await waitForLeaders(admin, missing.map((t) => t.name));
  }
  const registered: TopicReport['schemas'] = [];
  if (schemas) {
    for (const spec of topology.topics) {
      if (!spec.schema) continue;
      const subject = `${spec.name}-value`;
      registered.push({ subject, id: await schemas.registry.register(subject, schemas.catalog.schemaText(spec.schema)) });
    }
  }
  return { created: missing.map((t) => t.name), existing: [...existing.keys()], mismatched, schemas: registered };
}

/**
 * kafkajs's own `waitForLeaders` gives up on UNKNOWN_TOPIC_OR_PARTITION,
 * which a KRaft broker answers for a moment after creating a topic, while
 * its metadata catches up; that answer is transient, so wait it out.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const leaderless = async () => {
    const { topics: described } = await withRetries(() => admin.fetchTopicMetadata({ topics }), timeoutMs);
    return described.flatMap((t) => t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}/${p.partitionId}`));
  };
  const deadline = Date.now() + timeoutMs;
  for (let wait = 20, pending = await leaderless(); pending.length > 0; wait = Math.min(wait * 2, 500), pending = await leaderless()) {
    if (Date.now() > deadline) throw new Error(`created topics have no leader after ${timeoutMs / 1000} s: ${pending.join(', ')}`);
    await delay(wait);
  }
}

/** Creates topics outside a topology (tools, benchmarks, tests) and returns once each partition has a leader. */
export async function createPlainTopics(admin: Admin, topics: readonly string[], partitions: number): Promise<void> {
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: false });
  await waitForLeaders(admin, [...topics]);
}

/** Refuses to start against missing or mis-partitioned topics, naming each and the fix. */
export async function verifyTopics(admin: Admin, topology: Topology): Promise<void> {
  const { existing, mismatched } = await describe(admin, topology);
  const problems = [
    ...topology.topics.filter((t) => !existing.has(t.name)).map((t) => `${t.name}: missing (run npm run topics:create)`),
    ...mismatched.map((m) => `${m.topic}: ${m.problem}`),
  ];
  if (problems.length > 0) throw new TopologyError(`the topics do not match the topology:\n  ${problems.join('\n  ')}`);
}
