import type { InputRecord } from '../../records';
import type { ConsumedBatch, GroupAssignor, GroupConsumer, GroupConsumerHandlers, GroupConsumerOptions } from '../adapter';
import { AssignerProtocol, type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, type PartitionAssigner } from './client';
import { withKafkaErrors } from './errors';

const ASSIGNER_NAME = 'listening-post-tasks';

/**
 * kafkajs has no rebalance listener it awaits (its events are emitted and
 * forgotten), so the engine could not finish its tasks' transactions before
 * the group moved them. Every (re)join goes through ConsumerGroup's
 * joinAndSync, which the runner calls only once no batch is being handled:
 * wrapped here, it awaits the member's `onRevoke` before JoinGroup and its
 * `onAssignment` after SyncGroup, before fetching resumes. The handlers ride
 * on the member's assigner (kafkajs builds one per consumer), so other
 * consumers of the process are untouched. kafkajs 2.2.4 is pinned.
 */
const REBALANCE = Symbol('listening-post rebalance handlers');
type Rebalance = Pick<GroupConsumerHandlers, 'onRevoke' | 'onAssignment'>;
interface ConsumerGroupInternals {
  assigners: (object & { [REBALANCE]?: Rebalance })[];
  assigned(): { topic: string; partitions: number[] }[];
}
const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup') as { prototype: { joinAndSync(this: ConsumerGroupInternals): Promise<void>; [REBALANCE]?: true } };
if (!ConsumerGroup.prototype[REBALANCE]) {
  const joinAndSync = ConsumerGroup.prototype.joinAndSync;
  ConsumerGroup.prototype.joinAndSync = async function (this: ConsumerGroupInternals) {
    const handlers = this.assigners.find((a) => a[REBALANCE])?.[REBALANCE];
    await handlers?.onRevoke();
    await joinAndSync.call(this);
    await handlers?.onAssignment(Object.fromEntries(this.assigned().map((t) => [t.topic, t.partitions])));
  };
  ConsumerGroup.prototype[REBALANCE] = true;
}

/**
 * A member of the engine's consumer group on kafkajs: read_committed,
 * offsets never committed by kafkajs (exactly-once commits them in the
 * task's transaction), batches resolved by the engine.
 */
export class KafkajsGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer;
  /** Set by `run`; read by the wrapped joinAndSync through the assigner. */
  private readonly rebalance: Rebalance = { onRevoke: () => Promise.resolve(), onAssignment: () => Promise.resolve() };

  constructor(
    kafka: Kafka,
    private readonly options: GroupConsumerOptions,
  ) {
    const session = options.sessionTimeoutMs;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      partitionAssigners: [kafkajsAssigner(options.assignor, this.rebalance)],
      readUncommitted: false,
      sessionTimeout: session,
      rebalanceTimeout: Math.max(2 * session, 10_000),
      heartbeatInterval: Math.floor(session / 10),
      maxWaitTimeInMs: 250,
      maxBytesPerPartition: 2 * 1024 * 1024,
    });
  }

  connect(): Promise<void> {
    return withKafkaErrors(async () => {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: true });
    });
  }

  async run(handlers: GroupConsumerHandlers): Promise<void> {
    const { consumer } = this;
    this.rebalance.onRevoke = () => handlers.onRevoke();
    this.rebalance.onAssignment = (assignment) => handlers.onAssignment(assignment);
    // Batches that held only transaction markers or aborted records never reach eachBatch; their
    // offsets still count as consumed, or the group's position (and lag) would stall below them.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0) handlers.onSkipped(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => handlers.onCrash(payload.error, payload.restart));
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently,
      eachBatch: (payload) => handlers.onBatch(consumedBatch(payload)),
    });
  }

  seek(topic: string, partition: number, offset: bigint): void {
    this.consumer.seek({ topic, partition, offset: offset.toString() });
  }

  commitOffsets(offsets: { topic: string; partition: number; offset: bigint }[]): Promise<void> {
    return withKafkaErrors(() => this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset.toString() }))));
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
}

function consumedBatch({ batch, heartbeat, resolveOffset, isRunning, isStale }: EachBatchPayload): ConsumedBatch {
  return {
    topic: batch.topic,
    partition: batch.partition,
    records: batch.messages.map((m) => toInput(batch.topic, batch.partition, m)),
    nextOffset: BigInt(batch.lastOffset()) + 1n,
    lag: BigInt(batch.offsetLag()),
    heartbeat,
    consumed: (offset) => resolveOffset(offset.toString()),
    current: () => isRunning() && !isStale(),
  };
}

function toInput(topic: string, partition: number, m: KafkaMessage): InputRecord {
  return { topic, partition, offset: m.offset, key: m.key, value: m.value, timestamp: m.timestamp, headers: m.headers };
}

/** The engine's assignor in kafkajs's protocol: its user data in the member metadata, its answer encoded per member. */
function kafkajsAssigner(assignor: GroupAssignor, rebalance: Rebalance): PartitionAssigner {
  return ({ cluster }) => ({
    [REBALANCE]: rebalance,
    name: ASSIGNER_NAME,
    version: 1,
    async assign({ members }) {
      await cluster.refreshMetadataIfNecessary();
      const decoded = members.map((m) => ({ memberId: m.memberId, userData: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData ?? null }));
      const assignments = assignor.assign(decoded, (topic) => cluster.findTopicPartitionMetadata(topic).length);
      return [...assignments].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: assignor.userData() }) };
    },
  });
}
