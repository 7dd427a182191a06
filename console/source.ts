import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { TriggerLift } from '../processors/outcomes/lift';
import { Kafka, logLevel, type Admin } from '../runtime/kafka/kafkajs/client';
import type { KafkaConnection } from '../runtime/kafka/connection';
import { withRetries } from '../runtime/kafka/kafkajs/retry';
import { decoding, TopicFollower } from '../runtime/kafka/kafkajs/topic-follower';
import type { SchemaRegistryClient } from '../runtime/serde/registry';
import type { SchemaCatalog } from '../runtime/serde/schema-catalog';
import type { Topology } from '../runtime/topology';
import type { topicNames } from '../topology';
import type { IdentityAudit } from '../processors/identity/audit';
import type { SegmentMembership } from '../processors/segmentation/segmentation-processor';
import type { EngagementCommand, EngagementDecision } from '../processors/triggers/records';
import type { Activity, OffsetSample } from './activity';

export interface ConsoleSourceOptions {
  kafka: KafkaConnection;
  topology: Topology;
  topics: ReturnType<typeof topicNames>;
  registry: SchemaRegistryClient;
  catalog: SchemaCatalog;
  activity: Activity;
  log: Logger;
  /** How often offsets are sampled for rates and lag. */
  sampleEveryMs?: number;
}

/**
 * Feeds the console's Activity from the engine's own topics: the output
 * topics read from the start they retain (read_committed, a consumer group
 * of this instance's own that never commits, so every instance sees every
 * partition), and the broker's offsets sampled for arrival, processing,
 * dead-letter rates and lag. No second database: a restart reads again.
 */
export class ConsoleSource {
  private readonly follower: TopicFollower;
  private readonly client: Kafka;
  /** The engine's source topics: their lag, and their dead-letter topics. */
  private readonly sources: string[];
  private admin?: Admin;
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<void>;

  constructor(private readonly options: ConsoleSourceOptions) {
    const { topology, topics, registry, catalog, activity } = options;
    this.sources = [...new Set(topology.subTopologies.flatMap((s) => s.sources.map((source) => source.options.topic)))];
    this.client = new Kafka({ clientId: `${topology.appId}-console`, ...options.kafka, logLevel: logLevel.NOTHING });
    const now = () => Date.now();
    this.follower = new TopicFollower(this.client, `${topology.appId}-console-${randomBytes(4).toString('hex')}`, {
      [topics.commands]: decoding<EngagementCommand>(registry, catalog, 'EngagementCommand', (c) => c && activity.command(c, now())),
      [topics.decisions]: decoding<EngagementDecision>(registry, catalog, 'EngagementDecision', (d) => d && activity.decision(d, now())),
      [topics.membership]: decoding<SegmentMembership>(registry, catalog, 'SegmentMembership', (m) => m && activity.membership(m)),
      [topics.audit]: decoding<IdentityAudit>(registry, catalog, 'IdentityAudit', (a) => a && activity.audit(a)),
      [topics.lift]: decoding<TriggerLift>(registry, catalog, 'TriggerLift', (l) => l && activity.liftRecord(l)),
    });
  }

  async start(): Promise<void> {
    this.admin = this.client.admin();
    await this.admin.connect();
    await this.follower.start();
    this.timer = setInterval(() => {
      this.sampling ??= this.sample()
        .catch((error: unknown) => this.options.log.warn({ err: error }, 'console: sampling offsets failed; the live page keeps its last values'))
        .finally(() => (this.sampling = undefined));
    }, this.options.sampleEveryMs ?? 1_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
    await this.follower.stop();
    await this.admin?.disconnect();
  }

  private async sample(): Promise<void> {
    const admin = this.admin!;
    const { topology, topics, activity } = this.options;
    const { sources } = this;
    if (!activity.live && (await this.follower.caughtUp(admin))) activity.goLive(Date.now());
    const ends = new Map<string, number[]>();
    for (const topic of [...sources, ...sources.map((t) => topology.deadLetterTopic(t))]) {
      const offsets = await withRetries(() => admin.fetchTopicOffsets(topic));
      ends.set(topic, offsets.sort((a, b) => a.partition - b.partition).map((p) => Number(p.high)));
    }
    const committed = new Map<string, number[]>();
    for (const entry of await withRetries(() => admin.fetchOffsets({ groupId: topology.appId, topics: sources }))) {
      committed.set(entry.topic, entry.partitions.sort((a, b) => a.partition - b.partition).map((p) => Math.max(0, Number(p.offset))));
    }
    const sum = (values: number[] | undefined) => (values ?? []).reduce((a, b) => a + b, 0);
    const sample: OffsetSample = {
      at: Date.now(),
      rawEnd: sum(ends.get(topics.raw)),
      rawCommitted: sum(committed.get(topics.raw)),
      deadLetterEnd: sum(sources.map((t) => sum(ends.get(topology.deadLetterTopic(t))))),
      lag: sources.map((topic) => ({ topic, lag: ends.get(topic)!.reduce((total, end, p) => total + Math.max(0, end - (committed.get(topic)?.[p] ?? 0)), 0) })),
    };
    activity.sample(sample);
  }
}
