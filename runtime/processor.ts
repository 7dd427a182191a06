import type { Logger } from 'pino';

/** Kafka record headers as the processors see them: text only. */
export type Headers = Record<string, string>;

/** Where a record came from; absent for records produced by timers. */
export interface RecordOrigin {
  topic: string;
  partition: number;
  offset: string;
}

/** A record flowing through a sub-topology. `timestamp` is event time. */
export interface StreamRecord<K, V> {
  key: K;
  value: V;
  timestamp: number;
  headers: Headers;
}

/**
 * A key-value store of the task. Reads are async because a key may have to
 * come from RocksDB; keys that a processor declares in `prefetch` are read
 * in bulk before the batch, so those reads resolve from memory. Values are
 * owned by the store: `get` returns one to read; to change it, take it with
 * `editable` (or write a new value with `put`).
 */
export interface KeyValueStore<V> {
  /** The value, not to be changed (the test driver freezes it). */
  get(key: string): Promise<V | undefined>;
  /**
   * Takes a value `get` returned for `key` to change it: the object returned
   * (the same one, or in the test driver an unfrozen copy) is then this
   * key's uncommitted value, committed with the task's next commit and
   * dropped if that commit aborts. Change only the object it returns.
   */
  editable<T extends V>(key: string, value: T): T;
  put(key: string, value: V): void;
  delete(key: string): void;
  /** Entries with from <= key < to, in key order (UTF-8 byte order). */
  range(from: string, to: string): AsyncIterable<[string, V]>;
}

/** A read-only view of a global table (every instance holds all of it). */
export interface ReadOnlyStore<V> {
  get(key: string): Promise<V | undefined>;
}

export interface Timer {
  /** Event time at which the timer fires. */
  at: number;
  key: string;
}

export interface ForwardOptions {
  headers?: Headers;
  /** Event time of the forwarded record; defaults to the current record's (or timer's). */
  timestamp?: number;
}

/**
 * What a processor may do while it handles one record or timer. `Out` are
 * the names of the nodes it forwards to, as it declares them in its
 * outputs: a forward to any other name does not compile, and `build()`
 * refuses a topology whose nodes do not match the declaration.
 */
export interface ProcessorContext<Out extends string = string> {
  readonly taskId: string;
  readonly partition: number;
  /**
   * The task's stream time: the largest event time it has seen. Inside a
   * timer fired by live wall-clock punctuation (never in replay), the
   * punctuation's time: stream time plus the wall-clock time since the
   * task's last record; stream time itself is not moved by it.
   */
  readonly streamTime: number;
  /** The input record being handled; undefined inside `onTimer`. */
  readonly origin: RecordOrigin | undefined;
  readonly log: Logger;
  store<V>(name: string): KeyValueStore<V>;
  globalStore<V>(name: string): ReadOnlyStore<V>;
  /** Sends a record to one of this processor's declared outputs: a child processor or a sink. */
  forward<K, V>(to: Out, key: K, value: V, options?: ForwardOptions): void;
  /** Fires `onTimer` once stream time reaches `at`; one timer per key per node (a new time replaces the old). */
  schedule(at: number, key: string): void;
  cancel(key: string): void;
  /**
   * Cancels the timer of every node of this task for `key`: for the node
   * that forgets a key everywhere (an erased or expired person), so no
   * other node's timer outlives it on the changelog.
   */
  cancelAll(key: string): void;
  /**
   * Sends the input record being handled to the dead-letter topic, with its
   * original bytes and this reason, e.g. a touchpoint that fails validation.
   * Call it before changing any state; the processor then simply returns.
   */
  reject(kind: string, reason: string): void;
  /** Counts a domain event (a merge, a guard hit, a suppression) in the metrics. */
  count(event: string, by?: number): void;
}

/**
 * Pure logic over (state, record, context). A processor never touches
 * Kafka, RocksDB or the network: the runtime does, in production, in the
 * test driver and in replay alike.
 */
export interface Processor<K = unknown, V = unknown, Out extends string = string> {
  /** Store keys this record will read, so the runtime can fetch a whole batch's keys at once. */
  prefetch?(record: StreamRecord<K, V>): Iterable<[store: string, key: string]>;
  process(record: StreamRecord<K, V>, context: ProcessorContext<Out>): void | Promise<void>;
  /** Store keys a due timer will read (see `prefetch`). */
  prefetchTimer?(timer: Timer): Iterable<[store: string, key: string]>;
  onTimer?(timer: Timer, context: ProcessorContext<Out>): void | Promise<void>;
}

/**
 * The names of the nodes a processor forwards to, exported by its module
 * next to the processor and given to `TopologyBuilder.processor`, e.g.
 * `export const SCORING_OUTPUTS = outputs('segmentation')`.
 */
export function outputs<const Out extends string>(...names: Out[]): readonly Out[] {
  return Object.freeze(names);
}
