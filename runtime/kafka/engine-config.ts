import type { Logger } from 'pino';
import type { RuntimeMetrics } from '../metrics';
import type { KafkaClient } from './adapter';
import type { KafkaConnection } from './connection';

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once';

export const PRODUCER_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type ProducerClient = (typeof PRODUCER_CLIENTS)[number];

export interface EngineConfig {
  kafka: KafkaConnection;
  /** The Kafka client behind the adapter (default: kafkajs on `kafka`, its tasks' producers as `producerClient` says). */
  client?: KafkaClient;
  /** The client of the tasks' producers (default kafkajs). */
  producerClient?: ProducerClient;
  /** Root of the local state; each task has its own RocksDB below it. */
  stateDir: string;
  guarantee: ProcessingGuarantee;
  commitIntervalMs: number;
  /** Commit early once a task holds this many uncommitted input records. */
  maxUncommittedRecords: number;
  cacheEntriesPerStore: number;
  partitionsConsumedConcurrently: number;
  /** Largest record a task may produce (default: Kafka's default message.max.bytes less overhead). */
  maxRecordBytes?: number;
  /** How long the group waits for a silent member before moving its tasks (broker minimum: 6 s). */
  sessionTimeoutMs?: number;
  /**
   * Live freshness: a task that has had no input for a while fires the
   * timers due by its stream time plus the wall-clock time that passed since
   * its last record, so absence deadlines, arbitration windows and window
   * expiries fire without new traffic. Stream time itself moves only with
   * records: this second clock never rewrites it. Non-deterministic by
   * nature; the driver and replay never do it (runtime/README.md, "Time").
   */
  wallClockPunctuation?: boolean;
  /**
   * A task reading a source topic that is caught up and has had no input for
   * this long says it is idle, so the tasks that take its writes in event-time
   * order (runtime/input-order.ts) stop waiting on it (default 1000).
   */
  writerIdleMs?: number;
  /** host:port other instances use to reach this one's HTTP API. */
  advertisedEndpoint: string;
  log: Logger;
  metrics?: RuntimeMetrics;
}
