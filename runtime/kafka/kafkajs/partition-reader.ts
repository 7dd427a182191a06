import { setTimeout as delay } from 'node:timers/promises';
import type { FollowOptions, PartitionReader, ReadOptions, ReadRecord } from '../adapter';
import type { Kafka } from './client';
import { KafkaError } from '../kafka-errors';
import { kafkaError } from './errors';
import { filterAbortedMessages } from './patch';
import { isTransient, withRetries } from './retry';

// kafkajs has no assign() (every consumer joins a group), but restoring a
// task's stores, building a global table and replaying a range all need to
// read given partitions from given offsets, read_committed, with no group.
// kafkajs 2.2.4 is pinned and frozen, so its cluster and batch internals are
// used here, in this one file, and nowhere else.
const Batch = require('kafkajs/src/consumer/batch') as new (
  topic: string,
  fetchedOffset: string,
  partitionData: unknown,
) => {
  messagesWithinOffset: FetchedMessage[];
  isEmptyIncludingFiltered(): boolean;
  lastOffset(): string;
};

type FetchedMessage = Parameters<typeof filterAbortedMessages>[0]['messages'][number] & ReadRecord & { isControlRecord?: boolean };

/**
 * The committed records of one fetch. kafkajs's batch parses it; the
 * aborted transactions are dropped here, by kafkajs-patch's filter called
 * directly: the patch reaches kafkajs through `require.cache`, which a test
 * runner with a module registry of its own (jest) never consults, so the
 * proof suite, run by jest, read aborted records as committed and reported
 * duplicates and diverging state that no engine had written.
 */
export function fetchedRecords(topic: string, fetchedOffset: bigint, data: Pick<FetchedPartition, 'abortedTransactions'>): { batch: InstanceType<typeof Batch>; records: ReadRecord[] } {
  const batch = new Batch(topic, fetchedOffset.toString(), { ...data, abortedTransactions: [] });
  const committed = filterAbortedMessages({ messages: batch.messagesWithinOffset, abortedTransactions: data.abortedTransactions }) as FetchedMessage[];
  const records = committed
    .filter((m) => !m.isControlRecord)
    .map((m) => ({ offset: m.offset, key: m.key, value: m.value, timestamp: m.timestamp, headers: m.headers }));
  return { batch, records };
}
const READ_COMMITTED = 1;
/** Offsets in a row without a record below the last stable offset (compacted-away batches) before a read gives up loudly. */
const MAX_EMPTY_FETCHES = 100_000;
/** Consecutive transient fetch errors (leader moved, broker busy) tolerated before giving up. */
const MAX_TRANSIENT_ERRORS = 30;

interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<{ fetch(request: unknown): Promise<FetchResponse> }>;
  fetchTopicsOffset(
    topics: { topic: string; partitions: { partition: number }[]; fromBeginning?: boolean; fromTimestamp?: number }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  abortedTransactions?: { producerId: string | number; firstOffset: string }[];
  messages: unknown[];
}

interface FetchResponse {
  responses: { topicName: string; partitions: FetchedPartition[] }[];
}

/** kafkajs's PartitionReader: its cluster, one fetch request at a time. */
export class KafkajsPartitionReader implements PartitionReader {
  private readonly cluster: Cluster;

  constructor(kafka: Kafka) {
    const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
    if (!create) throw new Error('kafkajs internals changed: no createCluster on the Kafka client (kafkajs 2.2.4 is required)');
    const factory = (kafka as unknown as Record<symbol, (options: object) => Cluster>)[create]!;
    this.cluster = factory({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED, metadataMaxAge: 60_000 });
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  async disconnect(): Promise<void> {
    await this.cluster.disconnect();
  }

  /** First and last-stable offsets of each listed partition. */
  async bounds(topic: string, partitions: number[]): Promise<Map<number, { start: bigint; end: bigint }>> {
    await this.cluster.addTargetTopic(topic);
    const list = partitions.map((partition) => ({ partition }));
    const [earliest] = await this.listOffsets(() => this.cluster.fetchTopicsOffset([{ topic, partitions: list, fromBeginning: true }]));
    const [latest] = await this.listOffsets(() => this.cluster.fetchTopicsOffset([{ topic, partitions: list, fromBeginning: false }]));
    const result = new Map<number, { start: bigint; end: bigint }>();
    for (const p of earliest!.partitions) result.set(p.partition, { start: BigInt(p.offset), end: 0n });
    for (const p of latest!.partitions) result.get(p.partition)!.end = BigInt(p.offset);
    return result;
  }

  /** The first offset of each partition whose record timestamp is at or after `time` (the end if none). */
  async offsetsForTime(topic: string, partitions: number[], time: number): Promise<Map<number, bigint>> {
    await this.cluster.addTargetTopic(topic);
    const [found] = await this.listOffsets(() => this.cluster.fetchTopicsOffset([{ topic, partitions: partitions.map((partition) => ({ partition })), fromTimestamp: time }]));
    const bounds = await this.bounds(topic, partitions);
    return new Map(
      found!.partitions.map((p) => [p.partition, BigInt(p.offset) < 0n ? bounds.get(p.partition)!.end : BigInt(p.offset)]),
    );
  }

  /** A leader that moved or metadata that lags (a busy or restarted broker) is worth another try, with fresh metadata. */
  private listOffsets<T>(request: () => Promise<T>): Promise<T> {
    return withRetries(async () => {
      try {
        return await request();
      } catch (error) {
        if (isTransient(error)) await this.cluster.refreshMetadata().catch(() => undefined);
        throw error;
      }
    });
  }

  /** Reads [from, until) of one partition; returns the offset reached. */
  async read(options: ReadOptions): Promise<bigint> {
    await this.cluster.addTargetTopic(options.topic);
    const until = options.until ?? (await this.bounds(options.topic, [options.partition])).get(options.partition)!.end;
    return this.fetchLoop({ ...options, maxWaitMs: options.maxWaitMs ?? 200, stopped: options.stopped ?? (() => false) }, until);
  }

  /**
   * Reads one partition from `from` on, for as long as `stopped` says no: at
   * the end each fetch waits on the broker (`maxWaitMs`) for new records, so
   * a quiet partition costs one request per wait and a new record is read
   * as soon as it is committed (no offset lookups, no polling pause).
   */
  async follow(options: FollowOptions): Promise<void> {
    await this.cluster.addTargetTopic(options.topic);
    await this.fetchLoop(options, undefined);
  }

  /** Fetches from `from` up to `until`, or without end (following) when `until` is undefined. */
  private async fetchLoop(options: Omit<FollowOptions, 'onCaughtUp'> & { onCaughtUp?(): void }, until: bigint | undefined): Promise<bigint> {
    const { topic, partition } = options;
    let offset = options.from;
    let emptyFetches = 0;
    let transientErrors = 0;
    while ((until === undefined || offset < until) && !options.stopped()) {
      const leaders = this.cluster.findLeaderForPartitions(topic, [partition]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) {
        await this.cluster.refreshMetadata();
        continue;
      }
      const broker = await this.cluster.findBroker({ nodeId });
      let response: FetchResponse;
      try {
        response = await broker.fetch({
          isolationLevel: READ_COMMITTED,
          maxWaitTime: options.maxWaitMs,
          minBytes: 1,
          maxBytes: 16 * 1024 * 1024,
          topics: [{ topic, partitions: [{ partition, fetchOffset: offset.toString(), maxBytes: 4 * 1024 * 1024 }] }],
        });
      } catch (error) {
        const failure = kafkaError(error);
        if (failure instanceof KafkaError && failure.kind === 'offset-out-of-range') {
          throw new KafkaError('offset-out-of-range', false, `${topic}:${partition} has no offset ${offset} any more`, { cause: error });
        }
        if (!failure.retriable || ++transientErrors > MAX_TRANSIENT_ERRORS) throw failure;
        await this.cluster.refreshMetadata().catch(() => undefined);
        await delay(Math.min(1_000, 50 * transientErrors));
        continue;
      }
      transientErrors = 0;
      const data = response.responses[0]!.partitions[0]!;
      const { batch, records: fetched } = fetchedRecords(topic, offset, data);
      if (batch.isEmptyIncludingFiltered()) {
        // Nothing at or after `offset` is readable yet (an open transaction, or the end).
        if (offset >= BigInt(data.lastStableOffset)) {
          if (until !== undefined) return offset;
          options.onCaughtUp?.();
          // The broker answers at once while a transaction is open past `offset`: do not spin.
          if (BigInt(data.highWatermark) > offset) await delay(Math.min(options.maxWaitMs, 20));
          continue;
        }
        // Below the last stable offset everything is decided, so an answer without a single record
        // means the batches here were emptied by compaction (the broker keeps a producer's last
        // batch, even empty) and kafkajs hides their headers: step over them one offset at a time.
        if (++emptyFetches >= MAX_EMPTY_FETCHES) {
          throw new Error(`${topic}:${partition}: no records readable from ${offset - BigInt(emptyFetches) + 1n} to ${offset} although the last stable offset is ${data.lastStableOffset}`);
        }
        offset += 1n;
        continue;
      }
      emptyFetches = 0;
      const next = BigInt(batch.lastOffset()) + 1n;
      const records = until === undefined ? fetched : fetched.filter((r) => BigInt(r.offset) < until);
      const reached = until === undefined || next < until ? next : until;
      await options.onRecords(records, reached);
      offset = reached;
      // A partition written without pause never answers a fetch with nothing: having read up to the
      // last stable offset this fetch saw is standing at the end too.
      if (until === undefined && offset >= BigInt(data.lastStableOffset)) options.onCaughtUp?.();
    }
    return offset;
  }
}
