import pino, { type Logger } from 'pino';
import { TopologyError } from './errors';
import type { TaskProducer } from './kafka/adapter';
import { partitionForKey } from './kafka/partitioner';
import { RuntimeMetrics } from './metrics';
import type { Headers } from './processor';
import type { InputRecord, OutputRecord } from './records';
import type { TaskBacking } from './state/backing';
import { GlobalTable } from './state/global-table';
import { MemoryBacking } from './state/memory-backing';
import type { Serde } from './serde/serde';
import { isProgressMarker } from './input-order';
import { StreamTask } from './task';
import { writeCommit } from './task-commit';
import type { SubTopology, Topology } from './topology';

export interface InProcessEngineOptions {
  log?: Logger;
  /** Entries per store cache (small values exercise the RocksDB/backing path). */
  cacheEntries?: number;
  /** Backing store per task; in memory by default (replay passes RocksDB). */
  backing?: (taskId: string) => Promise<TaskBacking>;
  /**
   * Receives every record the tasks produce (outputs, changelog and
   * dead-letter records), in order, as it is delivered. When set, the
   * driver does not keep them (`producedRecords` and `output()` stay
   * empty), so a long replay runs in bounded memory.
   */
  onOutput?: (record: OutputRecord) => void;
  /** Largest output record, as the broker's limit (default: Kafka's 1 MiB). */
  maxRecordBytes?: number;
  /**
   * Deliver what the tasks produce to the tasks that read those topics, as
   * Kafka would (default). Off, each task sees exactly the records piped to
   * it: the way to re-run tasks on the input a live engine committed, which
   * already holds what they wrote to each other.
   */
  feedback?: boolean;
  /**
   * Global tables see a commit's updates only after this many later commits
   * (of any task; default 0, at once). Live, a global table is a moment
   * behind the task that writes its topic: a touchpoint can be resolved
   * against the identity graph as it was before a merge. A lag shows tests
   * what that does.
   */
  globalTableLag?: number;
  /**
   * Freeze committed store values and forwarded record values, so that a
   * processor changing a value it does not own fails, and check that every
   * committed store value reads back from its bytes unchanged
   * (runtime/task.ts, `checkValues`). On by default: the driver is where
   * processors are tested. Replay turns it off for speed unless asked to.
   */
  checkValues?: boolean;
}

export interface PipeOptions {
  timestamp?: number;
  headers?: Headers;
  partition?: number;
}

/** A record a sink produced, decoded, with its raw bytes for byte-level comparisons. */
export interface DriverOutput<K = unknown, V = unknown> {
  topic: string;
  partition: number;
  key: K | null;
  value: V | null;
  headers: Record<string, string>;
  timestamp: number;
  raw: OutputRecord;
}

/**
 * Runs a topology in process, without a broker, with the same tasks,
 * processors, serdes, stores, timers, dead-letter routing and commit
 * steps as the Kafka engine. Records produced to a topic that another
 * sub-topology reads are delivered to it, as Kafka would. Processing order
 * is deterministic: the same input gives the same output, byte for byte.
 *
 * It has two roles, hence its name: the test driver of processors and of
 * the runtime (value checks on), and replay's engine in production
 * (RocksDB state, outputs streamed to files or topics).
 */
export class InProcessEngine {
  readonly metrics = new RuntimeMetrics();
  private readonly tasks = new Map<string, StreamTask>();
  private readonly pending = new Map<string, InputRecord[]>();
  private readonly offsets = new Map<string, bigint>();
  private readonly produced: OutputRecord[] = [];
  private readonly globals = new Map<string, GlobalTable<unknown>>();
  /** Global table updates held back by `globalTableLag`, in commit order. */
  private readonly lagging: { topic: string; records: OutputRecord[]; next: Map<number, bigint>; due: number }[] = [];
  private commits = 0;
  private readonly log: Logger;
  private readonly readers = new Map<string, Serde<unknown>[]>();
  /** Sub-topologies reading each topic, and partition counts: looked up per record. */
  private readonly readersOf = new Map<string, number[]>();
  private readonly partitionCounts = new Map<string, number>();
  /** The tasks that take input in writer order, by sub-topology, each after those it waits on. */
  private readonly orderedReaders: SubTopology[];

  private constructor(
    readonly topology: Topology,
    private readonly options: InProcessEngineOptions,
  ) {
    this.log = options.log ?? pino({ level: 'silent' });
    this.orderedReaders = orderedReadersUpstreamFirst(topology);
  }

  static async create(topology: Topology, options: InProcessEngineOptions = {}): Promise<InProcessEngine> {
    const driver = new InProcessEngine(topology, options);
    await driver.init();
    return driver;
  }

  private async init(): Promise<void> {
    for (const t of this.topology.topics) this.partitionCounts.set(t.name, t.partitions ?? 1);
    for (const sub of this.topology.subTopologies) {
      for (const source of sub.sources) this.readersOf.set(source.options.topic, [...(this.readersOf.get(source.options.topic) ?? []), sub.id]);
    }
    for (const sub of this.topology.subTopologies) {
      for (const node of sub.nodes.values()) {
        if (node.kind === 'source') {
          await node.options.key.init?.(node.options.topic);
          await node.options.value.init?.(node.options.topic);
          this.readers.set(node.options.topic, [node.options.key, node.options.value]);
        }
        if (node.kind === 'sink') {
          await node.options.key.init?.(node.options.topic);
          await node.options.value.init?.(node.options.topic);
          if (!this.readers.has(node.options.topic)) this.readers.set(node.options.topic, [node.options.key, node.options.value]);
        }
      }
    }
    for (const g of this.topology.globalStores) {
      const backing = this.options.backing ? await this.options.backing(`global-${g.name}`) : new MemoryBacking();
      this.globals.set(g.options.topic, new GlobalTable(g.name, g.options.topic, backing, g.options.value));
    }
  }

  /** Appends a record to an input topic, serialised with the source's serdes. */
  pipe<K, V>(topic: string, key: K | null, value: V | null, options: PipeOptions = {}): void {
    const serdes = this.readers.get(topic);
    if (!serdes) throw new TopologyError(`no source or sink uses topic '${topic}'`);
    const [keySerde, valueSerde] = serdes;
    const keyBytes = key === null ? null : keySerde!.serialize(topic, key);
    const valueBytes = value === null ? null : valueSerde!.serialize(topic, value);
    this.pipeRaw(topic, keyBytes, valueBytes, options);
  }

  /** Appends a record given as bytes (e.g. a malformed one). */
  pipeRaw(topic: string, key: Buffer | null, value: Buffer | null, options: PipeOptions = {}): void {
    const partitions = this.partitionsOf(topic);
    const partition = options.partition ?? (key === null ? 0 : partitionForKey(key, partitions));
    const headers = options.headers ?? {};
    this.append({ topic, partition, key, value, headers, timestamp: options.timestamp ?? 0 });
  }

  /**
   * Processes everything pending, including records that tasks produce for
   * each other. When nothing is left, the input is over for now: the tasks
   * that take their input in writer order (runtime/input-order.ts) process
   * what they hold, upstream ones first, as live tasks do once every writer
   * has said it is idle.
   */
  async run(): Promise<void> {
    do {
      while (this.pending.size > 0) {
        const batches = [...this.pending];
        this.pending.clear();
        for (const [taskKey, records] of batches) {
          const task = await this.task(taskKey);
          await task.process(records);
          await this.commit(task);
        }
      }
    } while (await this.releaseHeld());
  }

  /** Has the first task (upstream first) that holds records process them; false when none holds any. */
  private async releaseHeld(): Promise<boolean> {
    for (const sub of this.orderedReaders) {
      for (let p = 0; p < sub.partitions; p++) {
        const task = this.tasks.get(`${sub.id}_${p}`);
        if (!task || task.heldRecords === 0) continue;
        await task.releaseHeld();
        await this.commit(task);
        return true;
      }
    }
    return false;
  }

  /** Moves every task's stream time to `time` (firing due timers), then processes what follows. */
  async advanceTime(time: number): Promise<void> {
    await this.run();
    for (const sub of this.topology.subTopologies) {
      for (let p = 0; p < sub.partitions; p++) {
        const task = await this.task(`${sub.id}_${p}`);
        await task.advanceStreamTime(time);
        await this.commit(task);
      }
    }
    await this.run();
  }

  /** Everything produced to a topic so far, decoded. */
  output<K = unknown, V = unknown>(topic: string): DriverOutput<K, V>[] {
    const serdes = this.readers.get(topic);
    return this.produced
      .filter((r) => r.topic === topic)
      .map((raw) => ({
        topic,
        partition: raw.partition,
        key: raw.key === null || !serdes ? (raw.key as K | null) : (serdes[0]!.deserialize(topic, raw.key) as K),
        value: raw.value === null || !serdes ? (raw.value as V | null) : (serdes[1]!.deserialize(topic, raw.value) as V),
        headers: raw.headers,
        timestamp: raw.timestamp,
        raw,
      }));
  }

  /** Every record produced, in order, as bytes. */
  get producedRecords(): readonly OutputRecord[] {
    return this.produced;
  }

  /** A store's value for a key, looked up in whichever task of the owning sub-topology holds it. */
  async storeValue<V>(store: string, key: string): Promise<V | undefined> {
    const sub = this.topology.subTopologies.find((s) => s.stores.some((d) => d.name === store));
    if (!sub) throw new TopologyError(`no sub-topology has a store named '${store}'`);
    for (let p = 0; p < sub.partitions; p++) {
      const value = await (await this.task(`${sub.id}_${p}`)).store(store)!.get(key);
      if (value !== undefined) return value as V;
    }
    return undefined;
  }

  globalTable<V>(name: string): GlobalTable<V> {
    const table = [...this.globals.values()].find((g) => g.name === name);
    if (!table) throw new TopologyError(`no global store named '${name}'`);
    return table as GlobalTable<V>;
  }

  streamTime(subTopology: number, partition: number): number | undefined {
    return this.tasks.get(`${subTopology}_${partition}`)?.streamTime;
  }

  /** Takes an offset in a topic's log for a record no task is to read. */
  private nextOffset(record: { topic: string; partition: number }): bigint {
    const log = `${record.topic}:${record.partition}`;
    const offset = this.offsets.get(log) ?? 0n;
    this.offsets.set(log, offset + 1n);
    return offset;
  }

  /** Adds a record to a topic's log and queues it for the tasks that read the topic; returns its offset. */
  private append(record: Omit<InputRecord, 'offset' | 'timestamp'> & { headers: Record<string, string>; timestamp: number }): bigint {
    const offset = this.nextOffset(record);
    const readers = this.readersOf.get(record.topic);
    if (!readers) return offset;
    const input: InputRecord = {
      topic: record.topic,
      partition: record.partition,
      offset: offset.toString(),
      key: record.key,
      value: record.value,
      timestamp: String(record.timestamp),
      headers: record.headers,
    };
    for (const subId of readers) {
      const key = `${subId}_${record.partition}`;
      let queue = this.pending.get(key);
      if (!queue) this.pending.set(key, (queue = []));
      queue.push(input);
    }
    return offset;
  }

  /**
   * The driver's commit: the engines' one commit step (task-commit.ts)
   * through a producer that appends to the driver's logs, then global
   * table updates as the tables would see them (after `globalTableLag`).
   */
  private async commit(task: StreamTask): Promise<void> {
    if (!task.hasPendingWork) return;
    const toGlobals = new Map<string, { records: OutputRecord[]; next: Map<number, bigint> }>();
    const deliver = (record: OutputRecord): bigint => {
      // Progress markers are the runtime's own, as transaction markers are Kafka's: delivered to readers, not shown.
      if (!isProgressMarker(record)) {
        if (this.options.onOutput) this.options.onOutput(record);
        else this.produced.push(record);
      }
      const offset = this.options.feedback === false ? this.nextOffset(record) : this.append(record);
      if (this.globals.has(record.topic)) {
        const update = toGlobals.get(record.topic) ?? { records: [], next: new Map<number, bigint>() };
        update.records.push(record);
        update.next.set(record.partition, offset + 1n);
        toGlobals.set(record.topic, update);
      }
      return offset;
    };
    const producer: TaskProducer = {
      async commit({ records }) {
        const ends = new Map<string, bigint>();
        for (const record of records) ends.set(record.topic, deliver(record) + 1n);
        return ends;
      },
      close: () => Promise.resolve(),
    };
    await writeCommit(task, task.prepareCommit(), producer, this.metrics);
    this.commits++;
    for (const [topic, update] of toGlobals) this.lagging.push({ topic, ...update, due: this.commits + (this.options.globalTableLag ?? 0) });
    while (this.lagging.length > 0 && this.lagging[0]!.due <= this.commits) {
      const update = this.lagging.shift()!;
      await this.globals.get(update.topic)!.apply(update.records, update.next);
    }
  }

  private async task(key: string): Promise<StreamTask> {
    let task = this.tasks.get(key);
    if (task) return task;
    const [subId, partition] = key.split('_').map(Number) as [number, number];
    const sub: SubTopology = this.topology.subTopologies[subId]!;
    task = new StreamTask({
      subTopology: sub,
      partition,
      backing: this.options.backing ? await this.options.backing(key) : new MemoryBacking(),
      log: this.log.child({ task: key }),
      metrics: this.metrics,
      partitionsOf: (topic) => this.partitionsOf(topic),
      deadLetterTopic: this.topology.deadLetterTopic,
      globalStores: new Map([...this.globals.values()].map((g) => [g.name, g])),
      defaultCacheEntries: this.options.cacheEntries ?? 10_000,
      maxRecordBytes: this.options.maxRecordBytes,
      checkValues: this.options.checkValues ?? true,
    });
    await task.init();
    this.tasks.set(key, task);
    return task;
  }

  private partitionsOf(topic: string): number {
    const partitions = this.partitionCounts.get(topic);
    if (partitions === undefined) throw new TopologyError(`topic '${topic}' is not declared in the topology`);
    return partitions;
  }
}

/** The sub-topologies that take input in writer order, each after those it waits on. */
function orderedReadersUpstreamFirst(topology: Topology): SubTopology[] {
  const depth = new Map<number, number>();
  const depthOf = (sub: SubTopology): number => {
    const known = depth.get(sub.id);
    if (known !== undefined) return known;
    const d = 1 + Math.max(0, ...(sub.orderedInput?.after ?? []).map((id) => depthOf(topology.subTopologies[id]!)));
    depth.set(sub.id, d);
    return d;
  };
  return topology.subTopologies.filter((s) => s.orderedInput).sort((a, b) => depthOf(a) - depthOf(b));
}
