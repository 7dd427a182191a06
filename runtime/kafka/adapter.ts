import type { InputRecord, OutputRecord } from '../records';
import type { Topology } from '../topology';

/**
 * Everything the engine asks of a Kafka client, in the engine's own terms.
 * The engine, its global tables and its restoration use these interfaces
 * only; one folder implements them for one client (`kafkajs/` today), so
 * changing the client is a change of that folder. Every method throws the
 * runtime's errors (`KafkaError` with `kind` and `retriable`), never the
 * client's.
 */
export interface KafkaClient {
  /** Admin requests of the engine, on a connection of their own. */
  admin(): EngineAdmin;
  /** A member of the consumer group `options.groupId`, not yet connected. */
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  /** A task's producer, connected (exactly-once: its transactional id initialised, fencing the previous owner). */
  taskProducer(options: TaskProducerOptions): Promise<TaskProducer>;
  /** A reader of given partitions from given offsets, outside any group (restoration, global tables, replay). */
  partitionReader(): PartitionReader;
}

export interface EngineAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Refuses (a `TopologyError` naming each topic and the fix) topics that are missing or partitioned otherwise than the topology says. */
  verifyTopics(topology: Topology): Promise<void>;
  /** The group's committed offsets of one partition number of `topics` (absent: no commit yet). */
  committedOffsets(groupId: string, topics: readonly string[], partition: number): Promise<Map<string, bigint>>;
  /** The group's members: the user data each sent with its subscription, and its assignment. */
  groupMembers(groupId: string): Promise<{ userData: Buffer | null; assignment: Record<string, number[]> }[]>;
}

// --- the consumer group --------------------------------------------------------------------------

export interface GroupConsumerOptions {
  groupId: string;
  topics: readonly string[];
  /** Assigns the group's partitions to members (run by the group's leader). */
  assignor: GroupAssignor;
  sessionTimeoutMs: number;
  partitionsConsumedConcurrently: number;
}

/** The engine's assignment of partitions to members: tasks, not partitions (task-assignment.ts). */
export interface GroupAssignor {
  /** User data this member sends with its subscription (read back by `assign` and `groupMembers`). */
  userData(): Buffer;
  assign(members: { memberId: string; userData: Buffer | null }[], partitionCount: (topic: string) => number): Map<string, Record<string, number[]>>;
}

/** One fetch of one partition, handed to the engine with what it needs to go on. */
export interface ConsumedBatch {
  topic: string;
  partition: number;
  /** Committed records (read_committed) at or after the group's position. */
  records: InputRecord[];
  /** The offset after the batch's last offset, transaction markers and aborted records included. */
  nextOffset: bigint;
  /** Records between the batch's end and the partition's end. */
  lag: bigint;
  /** Marks the member as alive; long work calls it now and then. */
  heartbeat(): Promise<void>;
  /** The group's position in this partition moves past `offset` (its offsets are committed by the task, not here). */
  consumed(offset: bigint): void;
  /** False once the consumer stops or a rebalance made this batch stale: stop handling it. */
  current(): boolean;
}

export interface GroupConsumerHandlers {
  onBatch(batch: ConsumedBatch): Promise<void>;
  /**
   * A rebalance starts: awaited before this member rejoins the group, once
   * no batch is being handled. In an eager rebalance every partition is
   * given up, and no member gets one before this member rejoined (or the
   * rebalance timed it out), so what it commits here is what the next owner
   * starts from (Kafka Streams' onPartitionsRevoked).
   */
  onRevoke(): Promise<void>;
  /** The group gave this member its partitions: awaited before it fetches under the new assignment. */
  onAssignment(assignment: Record<string, number[]>): Promise<void>;
  /** The consumer read past offsets that held no record for the engine (only markers or aborted records). */
  onSkipped(topic: string, partition: number, nextOffset: bigint): void;
  /** The consumer failed; `restarting` when it starts over by itself. */
  onCrash(error: Error, restarting: boolean): void;
}

export interface GroupConsumer {
  /** Connects and subscribes (reading from the beginning where the group has no offset). */
  connect(): Promise<void>;
  run(handlers: GroupConsumerHandlers): Promise<void>;
  /** The next batch of this partition starts at `offset`. */
  seek(topic: string, partition: number, offset: bigint): void;
  /** Commits offsets through the group (at-least-once; exactly-once commits them in the task's transaction). */
  commitOffsets(offsets: { topic: string; partition: number; offset: bigint }[]): Promise<void>;
  /** Stops fetching; returns once no batch is being handled. */
  stop(): Promise<void>;
  /** Leaves the group. */
  disconnect(): Promise<void>;
}

// --- a task's producer ------------------------------------------------------------------------------

/** What one commit of a task hands to Kafka. */
export interface TaskCommit {
  /** Outputs, then changelog records, each with its partition chosen. */
  records: readonly OutputRecord[];
  /** The task's input partition. */
  partition: number;
  /** Next offset to consume of `partition`, by source topic. */
  offsets: ReadonlyMap<string, bigint>;
}

/**
 * A task's way to Kafka: one per task, never shared (a task's commits are
 * sequential; kafkajs's idempotent producer also loses its sequence numbers
 * under concurrent sends).
 */
export interface TaskProducer {
  /**
   * Writes the records and the input offsets: exactly-once in one
   * transaction, at-least-once the records first and then the offsets.
   * Returns, per topic written, the offset after the last record written to
   * it (the changelog checkpoint). Throws a `KafkaError`; kind `fenced` when
   * a newer owner of the task took over.
   */
  commit(commit: TaskCommit): Promise<Map<string, bigint>>;
  close(): Promise<void>;
}

export type TaskProducerOptions =
  | { guarantee: 'exactly_once'; transactionalId: string; groupId: string }
  | { guarantee: 'at_least_once'; commitOffsets(offsets: { topic: string; partition: number; offset: bigint }[]): Promise<void> };

// --- reading partitions outside a group --------------------------------------------------------------

export interface ReadRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers?: Record<string, Buffer | string>;
}

export interface ReadOptions {
  topic: string;
  partition: number;
  from: bigint;
  /** Stop once this offset is reached; by default the last stable offset when reading starts. */
  until?: bigint;
  /** Called per fetched chunk with the offset to continue from. */
  onRecords(records: ReadRecord[], nextOffset: bigint): Promise<void>;
  /** Checked between fetches; true stops reading early. */
  stopped?(): boolean;
  maxWaitMs?: number;
}

export interface FollowOptions {
  topic: string;
  partition: number;
  from: bigint;
  onRecords(records: ReadRecord[], nextOffset: bigint): Promise<void>;
  /** Called whenever the reader stands at the partition's last stable offset: nothing more to read, or a fetch read up to it. */
  onCaughtUp(): void;
  stopped(): boolean;
  /** How long one fetch at the end waits on the broker for new records (a long poll). */
  maxWaitMs: number;
}

/** Reads partitions of a topic from an offset, read_committed, outside any consumer group. */
export interface PartitionReader {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** First and last-stable offsets of each listed partition. */
  bounds(topic: string, partitions: number[]): Promise<Map<number, { start: bigint; end: bigint }>>;
  /** The first offset of each partition whose record timestamp is at or after `time` (the end if none). */
  offsetsForTime(topic: string, partitions: number[], time: number): Promise<Map<number, bigint>>;
  /** Reads [from, until) of one partition; returns the offset reached. Throws `KafkaError` kind `offset-out-of-range` when `from` is gone. */
  read(options: ReadOptions): Promise<bigint>;
  /** Reads one partition from `from` on, for as long as `stopped` says no, waiting at the end for new records. */
  follow(options: FollowOptions): Promise<void>;
}
