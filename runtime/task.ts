import type { Logger } from 'pino';
import { DeserializationError, ListeningPostError, OutputTooLargeError, ProcessingError, TopologyError } from './errors';
import { partitionForKey } from './kafka/partitioner';
import type { RuntimeMetrics } from './metrics';
import type {
  ForwardOptions,
  Headers,
  KeyValueStore,
  Processor,
  ProcessorContext,
  ReadOnlyStore,
  RecordOrigin,
  StreamRecord,
} from './processor';
import { formatOrderKey, isProgressMarker, ORDER_HEADER, OrderedInput, parseOrderKey, type OrderKey, type OrderState } from './input-order';
import { deadLetter, DLQ_HEADERS, InputRecord, OutputRecord, recordBytes, textHeader, textHeaders } from './records';
import type { StoreWrite, TaskBacking } from './state/backing';
import { CachedStore } from './state/cached-store';
import type { GlobalTable } from './state/global-table';
import { indexRestored, TimerService, type TimerTimes } from './state/timer-service';
import { TASK_STORE, TIMER_INDEX_STORE, type ProcessorNode, type SinkNode, type SourceNode, type SubTopology } from './topology';

export interface TaskOptions {
  subTopology: SubTopology;
  partition: number;
  backing: TaskBacking;
  log: Logger;
  metrics: RuntimeMetrics;
  partitionsOf(topic: string): number;
  deadLetterTopic(sourceTopic: string): string;
  globalStores: ReadonlyMap<string, ReadOnlyStore<unknown>>;
  defaultCacheEntries: number;
  /**
   * Largest output record (key, value and headers) the task may produce: what
   * the broker accepts. A record over it would fail every commit; instead the
   * input that caused it goes to the dead-letter topic.
   */
  maxRecordBytes?: number;
  /**
   * Check what production trusts processors with (the test driver, and
   * replay's --check-values). Ownership: committed store values are frozen
   * and so is each forwarded record value (its own fields; what it holds may
   * be a store value taken with `editable`). Fidelity: every committed store
   * value must read back from its bytes as it is (live, a restored or
   * evicted value comes from RocksDB). A breach throws, so it fails a test
   * instead of changing state behind the store's back or after a restore.
   * Off in production: both cost a walk of every value.
   */
  checkValues?: boolean;
}

/** Kafka's default message.max.bytes (1 MiB + 12) less a record batch's overhead. */
export const DEFAULT_MAX_RECORD_BYTES = 1_048_000;

/** Everything one commit must make durable, in Kafka and then in RocksDB. */
export interface PendingCommit {
  outputs: OutputRecord[];
  changelog: OutputRecord[];
  writes: StoreWrite[];
  /** Next offset to consume after a restart, by source topic (this task's partition): before any record still held for its writers' order. */
  offsets: Map<string, bigint>;
  /** Next offset to read, by source topic: everything before it is processed or held. */
  readTo: Map<string, bigint>;
  /** The progress marker this commit sends, if any. */
  progress?: string;
  /** What the task store holds of writer order once this commit is made (StoredOrder, as JSON). */
  order: string;
}

interface Decoded {
  source: SourceNode;
  record: StreamRecord<unknown, unknown>;
}

/**
 * A record as the task will run it. Stream time moves to its order key's
 * time when it has one (released in writer order, or late, or another
 * writer's), else to its event time.
 */
interface Step {
  raw: InputRecord;
  item: Decoded | ListeningPostError;
  key?: OrderKey;
}

/** What the task store keeps of writer order: the sequence of this task's order keys, and its ordered input. */
interface StoredOrder {
  seq: number;
  input?: OrderState;
}

const STREAM_TIME_KEY = 'streamTime';
const ORDER_KEY = 'order';
const TIMER_PREFIX = 'timer:';
const NO_TIME = Number.MIN_SAFE_INTEGER;

/**
 * One task: a sub-topology running over one partition number. It owns the
 * stores, timers and stream time of that partition and turns input records
 * into output records, changelog writes and offsets, which its owner (the
 * Kafka engine, the test driver or replay) commits. It never does I/O of
 * its own besides reading its backing store.
 *
 * A processor that throws on a record does not stop the task: the task
 * returns to its last committed state, replays the uncommitted records
 * without the failing one, and sends that one to the dead-letter topic.
 * Replaying is deterministic (event time only), so the result is the same
 * as if the failing record had never arrived.
 */
export class StreamTask {
  readonly id: string;
  readonly partition: number;
  private readonly sub: SubTopology;
  private readonly stores = new Map<string, CachedStore<unknown>>();
  private readonly taskStore: CachedStore<unknown>;
  private readonly timers: TimerService;
  private readonly processors = new Map<string, Processor<unknown, unknown>>();
  private readonly contexts = new Map<string, NodeContext>();
  private readonly sourcesByTopic = new Map<string, SourceNode>();
  private outputs: OutputRecord[] = [];
  /** Every input handled since the last commit, in order, for replay after a failure. */
  private retained: InputRecord[] = [];
  private readonly poisoned = new Map<string, { kind: string; message: string; processor?: string }>();
  private nextOffsets = new Map<string, bigint>();
  /** The input record being processed, for `reject`. */
  private current: InputRecord | undefined;
  private committedOffsets = new Map<string, bigint>();
  private committedReadTo = new Map<string, bigint>();
  private time = NO_TIME;
  private committedTime = NO_TIME;
  /** Set only while a wall-clock punctuation fires timers. */
  private punctuationTime: number | undefined;
  /** The topic this task takes in its writers' order, if any. */
  private readonly order: OrderedInput<Step> | undefined;
  private readonly orderKeyTopics: ReadonlySet<string>;
  /** Sequence number of the last order key this task wrote. */
  private seq = 0;
  private committedSeq = 0;
  /** What the task store holds of writer order (StoredOrder, as JSON), so a commit writes it only when it changed. */
  private committedOrder = '';
  /** Said by the engine when this task's input has been quiet (a source writer only): its progress is then "idle". */
  private idle = false;
  /** The last progress marker sent. */
  private lastProgress: string | undefined;
  /** Counts returns to the last commit, so a run of steps stops when one of them replayed everything. */
  private generation = 0;

  constructor(private readonly options: TaskOptions) {
    this.sub = options.subTopology;
    this.partition = options.partition;
    this.id = `${this.sub.id}_${options.partition}`;
    for (const store of this.sub.stores) {
      const cacheEntries = store.options.cacheEntries ?? options.defaultCacheEntries;
      this.stores.set(store.name, new CachedStore(store.name, options.backing, store.options.value, cacheEntries, options.checkValues));
    }
    this.taskStore = this.stores.get(TASK_STORE)!;
    this.timers = new TimerService(timerTimes(this.taskStore as CachedStore<number>), this.stores.get(TIMER_INDEX_STORE) as CachedStore<Buffer>);
    for (const source of this.sub.sources) this.sourcesByTopic.set(source.options.topic, source);
    const ordered = this.sub.orderedInput;
    this.order = ordered ? new OrderedInput<Step>(ordered.topic, new Set(ordered.writers)) : undefined;
    this.orderKeyTopics = new Set(this.sub.orderKeyTopics);
    for (const node of this.sub.nodes.values()) {
      if (node.kind !== 'processor') continue;
      this.processors.set(node.name, node.supplier());
      this.contexts.set(node.name, new NodeContext(this, node, options.log.child({ processor: node.name })));
    }
  }

  get log(): Logger {
    return this.options.log;
  }

  get checksValues(): boolean {
    return this.options.checkValues === true;
  }

  /** Loads timers and stream time; call after the backing store is restored. */
  async init(): Promise<void> {
    for (const store of this.stores.values()) store.clear();
    const stored = (await this.taskStore.get(STREAM_TIME_KEY)) as number | undefined;
    this.time = this.committedTime = stored ?? NO_TIME;
    const order = (await this.taskStore.get(ORDER_KEY)) as StoredOrder | undefined;
    this.seq = this.committedSeq = order?.seq ?? 0;
    this.order?.load(order?.input);
    this.committedOrder = JSON.stringify(this.storedOrder());
    await this.indexTimersOfOlderState();
    this.timers.reset(true);
  }

  get streamTime(): number {
    return this.time;
  }

  /** Source topics this task reads, with the next offset it will consume once committed. */
  get committedPositions(): ReadonlyMap<string, bigint> {
    return this.committedOffsets;
  }

  /** Next offset this task will process on a source topic (its committed position plus what it has processed since). */
  position(topic: string): bigint | undefined {
    return this.nextOffsets.get(topic);
  }

  get uncommittedRecords(): number {
    return this.retained.length;
  }

  store(name: string): CachedStore<unknown> | undefined {
    return this.stores.get(name);
  }

  get storeNames(): string[] {
    return [...this.stores.keys()];
  }

  /**
   * Handles a batch of consumed records, in order; records of a topic taken
   * in writer order are held until their writers' watermark passes them.
   */
  async process(records: readonly InputRecord[]): Promise<void> {
    const decoded = await this.decode(records);
    const steps: Step[] = [];
    for (let i = 0; i < records.length; i++) {
      const raw = records[i]!;
      const item = decoded[i]!;
      this.retained.push(raw);
      this.nextOffsets.set(raw.topic, BigInt(raw.offset) + 1n);
      if (this.order && raw.topic === this.order.topic) this.takeOrdered(this.order, raw, item, steps);
      else {
        this.idle = false;
        steps.push({ raw, item });
      }
    }
    await this.runSteps(steps);
  }

  /**
   * Processes, in key order, every record held for its writers' order: the
   * input is over for now (the in-process engine between two runs; live, a
   * task waits for its writers or for them to say they are idle).
   */
  async releaseHeld(): Promise<void> {
    if (this.order) await this.runSteps(this.order.releaseAll());
  }

  private async runSteps(steps: readonly Step[]): Promise<void> {
    await this.prefetch(steps.map((s) => s.item));
    const generation = this.generation;
    for (const step of steps) {
      await this.run(step);
      // A failing record or timer returned the task to its last commit and replayed everything since.
      if (this.generation !== generation) return;
    }
    await this.timers.settle();
  }

  private takeOrdered(order: OrderedInput<Step>, raw: InputRecord, item: Decoded | ListeningPostError, steps: Step[]): void {
    const key = parseOrderKey(textHeader(raw.headers, ORDER_HEADER));
    if (key && isProgressMarker(raw)) order.advance(key, BigInt(raw.offset));
    else {
      const step: Step = { raw, item, key };
      const arrival = order.arrive(BigInt(raw.offset), item instanceof ListeningPostError ? undefined : key, step);
      if (arrival === 'now') steps.push(step);
    }
    steps.push(...order.release());
  }

  private async run(step: Step): Promise<void> {
    const { raw, item } = step;
    if (item instanceof ListeningPostError) {
      this.sendToDeadLetter(raw, { kind: item.kind, message: item.message });
      return;
    }
    const poison = this.poisoned.get(recordKey(raw));
    if (poison) {
      this.sendToDeadLetter(raw, poison);
      return;
    }
    const time = step.key ? step.key.time : item.record.timestamp;
    if (time > this.time) this.time = time;
    try {
      this.current = raw;
      await this.runSource(item, raw);
    } catch (error) {
      await this.recover(recordKey(raw), error, raw);
      return;
    }
    await this.fireDueTimers();
  }

  /**
   * The engine found this task's input quiet: from now until its next
   * record, the readers that wait on it need not (a task with input in
   * writer order never says so: its progress follows its writers'). True
   * when that is news to a reader.
   */
  declareIdle(): boolean {
    if (!this.mayDeclareIdle) return false;
    this.idle = true;
    this.options.metrics.writersIdle.inc({ task: this.id });
    return true;
  }

  /** Whether `declareIdle` would be news: a source writer that has not said it yet. */
  get mayDeclareIdle(): boolean {
    return !this.order && !this.idle && this.sub.progressTopics.length > 0;
  }

  /** Records held for their writers' order, not yet processed. */
  get heldRecords(): number {
    return this.order?.heldCount ?? 0;
  }

  /**
   * Fires the timers due by `wallClockTime` (live freshness, see
   * EngineConfig.wallClockPunctuation) without moving stream time: inside
   * those timers processors see `wallClockTime` as the time, and the next
   * record is judged against stream time as if the punctuation had not
   * happened. Never persisted, never in the driver or replay.
   */
  async punctuate(wallClockTime: number): Promise<void> {
    if (wallClockTime <= this.time) return;
    this.punctuationTime = wallClockTime;
    try {
      await this.fireDueTimers();
    } finally {
      this.punctuationTime = undefined;
    }
    await this.timers.settle();
  }

  /** The time processors see: stream time, or a wall-clock punctuation's time while it fires timers. */
  get processorTime(): number {
    return this.punctuationTime ?? this.time;
  }

  /** Moves stream time forward without a record (test driver, replay end) and fires due timers. */
  async advanceStreamTime(to: number): Promise<void> {
    if (to > this.time) this.time = to;
    await this.fireDueTimers();
    await this.timers.settle();
  }

  /**
   * Whether a commit would write anything. Stream time alone does not count:
   * it is saved with the next commit that has something to say, so idle
   * punctuation does not write a transaction per tick.
   */
  get hasPendingWork(): boolean {
    if (this.outputs.length > 0) return true;
    for (const [topic, offset] of this.nextOffsets) if (this.committedReadTo.get(topic) !== offset) return true;
    for (const store of this.stores.values()) if (store.hasUncommittedWrites) return true;
    return this.progressToSend() !== undefined;
  }

  /** The progress marker this task owes its readers, if it moved since the last one. */
  private progressToSend(): string | undefined {
    if (this.sub.progressTopics.length === 0) return undefined;
    const time = this.idle ? Infinity : Math.max(this.time, this.order?.pendingTime ?? NO_TIME);
    if (time === NO_TIME) return undefined;
    const progress = formatOrderKey({ time, writer: this.id, seq: this.seq });
    return progress === this.lastProgress ? undefined : progress;
  }

  /** What a commit must write; the task stays unchanged until `committed` or `aborted`. */
  prepareCommit(): PendingCommit {
    if (this.timers.hasUnsettled) throw new Error(`task ${this.id}: a commit was prepared before the timers settled`);
    if (this.time !== this.committedTime) this.taskStore.put(STREAM_TIME_KEY, this.time);
    const readTo = new Map(this.nextOffsets);
    const offsets = new Map(this.nextOffsets);
    if (this.order) {
      const next = this.nextOffsets.get(this.order.topic);
      const held = this.order.firstHeldOffset;
      if (held !== undefined && (next === undefined || held < next)) offsets.set(this.order.topic, held);
    }
    const stored = this.storedOrder();
    const order = JSON.stringify(stored);
    if (order !== this.committedOrder) this.taskStore.put(ORDER_KEY, stored);
    const progress = this.progressToSend();
    const outputs = progress === undefined ? this.outputs : [...this.outputs, ...this.progressMarkers(progress)];
    const writes: StoreWrite[] = [];
    const changelog: OutputRecord[] = [];
    for (const def of this.sub.stores) {
      const storeWrites = this.stores.get(def.name)!.uncommittedWrites();
      writes.push(...storeWrites);
      if (!def.changelog) continue;
      for (const w of storeWrites) {
        changelog.push({
          topic: def.changelog,
          partition: this.partition,
          key: Buffer.from(w.key, 'utf8'),
          value: w.value,
          headers: {},
          timestamp: Math.max(this.time, 0),
        });
      }
    }
    return { outputs, changelog, writes, offsets, readTo, order, ...(progress === undefined ? {} : { progress }) };
  }

  /** This task's order keys' sequence, and where its ordered input stands (read position, cursor, writers' progress). */
  private storedOrder(): StoredOrder {
    const next = this.order && this.nextOffsets.get(this.order.topic);
    return { seq: this.seq, ...(this.order && next !== undefined ? { input: this.order.state(next) } : {}) };
  }

  /** A marker (no key, no value) to every partition of each topic whose readers wait on this task. */
  private progressMarkers(progress: string): OutputRecord[] {
    return this.sub.progressTopics.flatMap((topic) =>
      Array.from({ length: this.options.partitionsOf(topic) }, (_, partition) => ({
        topic,
        partition,
        key: null,
        value: null,
        headers: { [ORDER_HEADER]: progress },
        timestamp: Math.max(this.time, 0),
      })),
    );
  }

  /**
   * The commit reached Kafka: apply its writes to the backing store together
   * with the changelog positions they reflect (`checkpoint`), atomically.
   */
  async committed(commit: PendingCommit, checkpoint: ReadonlyMap<string, bigint>): Promise<void> {
    await this.options.backing.apply(commit.writes, checkpoint);
    this.countCommitted(commit);
    for (const store of this.stores.values()) store.markCommitted();
    this.timers.committed();
    this.outputs = [];
    this.retained = [];
    this.poisoned.clear();
    this.committedOffsets = new Map(commit.offsets);
    this.committedReadTo = new Map(commit.readTo);
    this.committedTime = this.time;
    if (this.order) {
      this.order.markCommitted(commit.readTo.get(this.order.topic) ?? -1n);
      this.options.metrics.heldRecords.set({ task: this.id }, this.order.heldCount);
    }
    this.committedSeq = this.seq;
    this.committedOrder = commit.order;
    if (commit.progress !== undefined) this.lastProgress = commit.progress;
  }

  /**
   * Input and dead-letter counts are taken from what a commit made final, so
   * a record replayed after an abort or a failing neighbour counts once:
   * per partition, records in = processed + dead-lettered, exactly.
   */
  private countCommitted(commit: PendingCommit): void {
    const partition = String(this.partition);
    const inputs = new Map<string, number>();
    for (const r of this.retained) inputs.set(r.topic, (inputs.get(r.topic) ?? 0) + 1);
    for (const [topic, count] of inputs) this.options.metrics.recordsIn.inc({ topic, partition }, count);
    for (const o of commit.outputs) {
      const kind = o.headers[DLQ_HEADERS.kind];
      if (kind !== undefined) this.options.metrics.deadLettered.inc({ topic: o.headers[DLQ_HEADERS.topic]!, partition, kind });
    }
  }

  /** The commit failed: forget everything since the last commit; the owner re-reads from `committedPositions`. */
  async aborted(): Promise<void> {
    for (const store of this.stores.values()) store.discardUncommitted();
    this.outputs = [];
    this.retained = [];
    this.nextOffsets = new Map(this.committedReadTo);
    this.time = this.committedTime;
    this.timers.reset(false);
    this.order?.restoreCommitted();
    this.seq = this.committedSeq;
    this.generation++;
  }

  /** The consumer passed offsets that held no records for us (transaction markers, aborted records). */
  skippedTo(topic: string, offset: bigint): void {
    if (offset > (this.nextOffsets.get(topic) ?? -1n)) this.nextOffsets.set(topic, offset);
  }

  /** Positions known from outside (e.g. the group's committed offsets at assignment). */
  setCommittedPosition(topic: string, offset: bigint): void {
    this.committedOffsets.set(topic, offset);
    this.committedReadTo.set(topic, offset);
    this.nextOffsets.set(topic, offset);
  }

  /** Applies changelog records read during restoration straight to the backing store. */
  async restore(changelog: string, records: { key: Buffer | null; value: Buffer | null }[], nextOffset: bigint): Promise<void> {
    const def = this.sub.stores.find((s) => s.changelog === changelog);
    if (!def) throw new TopologyError(`task ${this.id} has no store with changelog ${changelog}`);
    const writes: StoreWrite[] = [];
    for (const r of records) if (r.key) writes.push({ store: def.name, key: r.key.toString('utf8'), value: r.value });
    if (def.name === TASK_STORE) writes.push(...(await this.indexRestoredTimers(writes)));
    await this.options.backing.apply(writes, new Map([[changelog, nextOffset]]));
  }

  /**
   * State written before timers had a time index holds timers and no index:
   * index them once (the index is never empty while a timer exists).
   */
  private async indexTimersOfOlderState(): Promise<void> {
    const backing = this.options.backing;
    for await (const _ of backing.range(TIMER_INDEX_STORE, '', '\uffff')) return;
    let batch: StoreWrite[] = [];
    for await (const [key, value] of backing.range(TASK_STORE, TIMER_PREFIX, TIMER_PREFIX + '\uffff')) {
      batch.push({ store: TASK_STORE, key, value });
      if (batch.length === 10_000) {
        await backing.apply(await this.indexRestoredTimers(batch, true), new Map());
        batch = [];
      }
    }
    await backing.apply(await this.indexRestoredTimers(batch, true), new Map());
  }

  /**
   * Index entries for timer records written straight to the backing store
   * (restoration; `fresh`: state that has timers and no index yet).
   */
  private async indexRestoredTimers(writes: readonly StoreWrite[], fresh = false): Promise<StoreWrite[]> {
    const serde = this.sub.stores.find((s) => s.name === TASK_STORE)!.options.value;
    const time = (bytes: Buffer | null) => (bytes === null ? undefined : (serde.deserialize(TASK_STORE, bytes) as number));
    const timers = writes.filter((w) => w.key.startsWith(TIMER_PREFIX)).map((w) => ({ id: w.key.slice(TIMER_PREFIX.length), at: time(w.value) }));
    return indexRestored(TIMER_INDEX_STORE, timers, async (ids) =>
      fresh ? ids.map(() => undefined) : (await this.options.backing.getMany(TASK_STORE, ids.map((id) => TIMER_PREFIX + id))).map(time),
    );
  }

  /** Closes the backing store; the task must not be used afterwards. */
  async close(): Promise<void> {
    await this.options.backing.close();
  }

  get changelogTopics(): string[] {
    return this.sub.stores.flatMap((s) => (s.changelog ? [s.changelog] : []));
  }

  // --- internals used by NodeContext -------------------------------------------------------

  emit(sink: SinkNode, record: StreamRecord<unknown, unknown>): void {
    const { topic, key: keySerde, value: valueSerde, partition } = sink.options;
    const key = record.key === null || record.key === undefined ? null : keySerde.serialize(topic, record.key);
    const value = record.value === null || record.value === undefined ? null : valueSerde.serialize(topic, record.value);
    const partitions = this.options.partitionsOf(topic);
    const chosen = partition
      ? partition(record.key, record.value, partitions)
      : key === null
        ? this.partition % partitions
        : partitionForKey(key, partitions);
    const headers = this.orderKeyTopics.has(topic) ? { ...record.headers, [ORDER_HEADER]: formatOrderKey({ time: this.time, writer: this.id, seq: ++this.seq }) } : record.headers;
    const output = { topic, partition: chosen, key, value, headers, timestamp: record.timestamp };
    const bytes = recordBytes(output);
    const max = this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    if (bytes > max) throw new OutputTooLargeError(`a record for ${topic} would be ${bytes} bytes, more than the broker accepts (${max})`);
    this.outputs.push(output);
  }

  scheduleTimer(node: string, key: string, at: number): void {
    this.timers.schedule(node, key, at);
  }

  cancelTimer(node: string, key: string): void {
    this.timers.cancel(node, key);
  }

  /** Every processor of the task that can hold a timer (it has onTimer). */
  get timerNodes(): string[] {
    return [...this.processors].filter(([, processor]) => processor.onTimer !== undefined).map(([name]) => name);
  }

  globalStore(name: string): ReadOnlyStore<unknown> | undefined {
    return this.options.globalStores.get(name);
  }

  reject(processor: string, kind: string, reason: string): void {
    if (!this.current) throw new ProcessingError(processor, new Error(`reject(${kind}) called outside the processing of an input record`));
    this.sendToDeadLetter(this.current, { kind, message: reason, processor });
  }

  countDomainEvent(processor: string, event: string, by: number): void {
    this.options.metrics.domainEvents.inc({ processor, event }, by);
  }

  // --- processing ---------------------------------------------------------------------------

  private async decode(records: readonly InputRecord[]): Promise<(Decoded | ListeningPostError)[]> {
    const topics = new Set(records.map((r) => r.topic));
    for (const topic of topics) {
      const source = this.sourcesByTopic.get(topic);
      if (!source) throw new TopologyError(`task ${this.id} received a record of topic ${topic}, which none of its sources reads`);
      const subset = records.filter((r) => r.topic === topic);
      await source.options.key.prepare?.(topic, subset.map((r) => r.key));
      await source.options.value.prepare?.(topic, subset.map((r) => r.value));
    }
    return records.map((raw) => {
      const source = this.sourcesByTopic.get(raw.topic)!;
      try {
        if (raw.value === null) throw new DeserializationError('malformed-record', `${raw.topic}: record has no value`);
        const value = source.options.value.deserialize(raw.topic, raw.value);
        const key = raw.key === null ? null : source.options.key.deserialize(raw.topic, raw.key);
        const kafkaTime = Number(raw.timestamp);
        const timestamp = source.options.eventTime ? source.options.eventTime(value, kafkaTime) : kafkaTime;
        if (!Number.isFinite(timestamp)) throw new DeserializationError('invalid-record', `${raw.topic}: no valid event time (${timestamp})`);
        return { source, record: { key, value, timestamp, headers: textHeaders(raw.headers) } };
      } catch (error) {
        if (error instanceof ListeningPostError) return error;
        return new DeserializationError('malformed-record', `${raw.topic}: ${(error as Error).message}`);
      }
    });
  }

  /** Reads, in one bulk request per store, every key the batch's first processors declare. */
  private async prefetch(decoded: readonly (Decoded | ListeningPostError)[]): Promise<void> {
    const wanted = new Map<string, string[]>();
    for (const item of decoded) {
      if (item instanceof ListeningPostError) continue;
      for (const child of item.source.children) {
        const processor = this.processors.get(child);
        if (!processor?.prefetch) continue;
        for (const [store, key] of processor.prefetch(item.record)) {
          let keys = wanted.get(store);
          if (!keys) wanted.set(store, (keys = []));
          keys.push(key);
        }
      }
    }
    await Promise.all(
      [...wanted].map(([store, keys]) => (this.stores.get(store) ?? (this.options.globalStores.get(store) as GlobalTable<unknown> | undefined))?.prefetch(keys)),
    );
  }

  private async runSource(item: Decoded, raw: InputRecord): Promise<void> {
    const origin: RecordOrigin = { topic: raw.topic, partition: raw.partition, offset: raw.offset };
    for (const child of item.source.children) await this.runNode(child, item.record, origin);
  }

  private async runNode(name: string, record: StreamRecord<unknown, unknown>, origin: RecordOrigin | undefined): Promise<void> {
    const node = this.sub.nodes.get(name)!;
    if (node.kind === 'sink') {
      this.emit(node, record);
      return;
    }
    if (node.kind !== 'processor') return;
    const context = this.contexts.get(name)!;
    const queue = context.begin(origin, record.timestamp);
    try {
      await this.processors.get(name)!.process(record, context);
    } catch (error) {
      throw error instanceof ProcessingError ? error : new ProcessingError(name, error);
    }
    for (const [to, forwarded] of queue) await this.runNode(to, forwarded, origin);
  }

  private async fireDueTimers(): Promise<void> {
    const time = this.processorTime;
    while (this.timers.mayBeDue(time)) {
      const due = await this.timers.popDue(time);
      if (!due) return;
      const id = `timer/${due.node}/${due.key}/${due.at}`;
      if (this.poisoned.has(id)) continue;
      const processor = this.processors.get(due.node);
      if (!processor?.onTimer) continue;
      const timer = { at: due.at, key: due.key };
      if (processor.prefetchTimer) {
        for (const [store, key] of processor.prefetchTimer(timer)) await this.stores.get(store)?.prefetch([key]);
      }
      const context = this.contexts.get(due.node)!;
      const queue = context.begin(undefined, due.at);
      this.current = undefined;
      try {
        await processor.onTimer(timer, context);
        for (const [to, forwarded] of queue) await this.runNode(to, forwarded, undefined);
        this.options.metrics.timersFired.inc({ processor: due.node });
      } catch (error) {
        await this.recover(id, error instanceof ProcessingError ? error : new ProcessingError(due.node, error));
        return;
      }
    }
  }

  /**
   * Returns to the last committed state and replays what came since,
   * skipping the record or timer that failed (`poisonId`).
   */
  private async recover(poisonId: string, error: unknown, raw?: InputRecord): Promise<void> {
    const failure = error instanceof ProcessingError ? error : new ProcessingError('unknown', error);
    // An error of a known kind (an output too large) keeps its kind in the dead-letter headers.
    const kind = failure.error instanceof ListeningPostError ? failure.error.kind : failure.kind;
    this.options.metrics.processorErrors.inc({ processor: failure.processor });
    this.options.log.warn(
      { err: failure.error, processor: failure.processor, failed: poisonId, offset: raw?.offset, kind },
      'processor failed; replaying the uncommitted records without it',
    );
    this.poisoned.set(poisonId, { kind, message: failure.message, processor: failure.processor });
    // A punctuation that hit a failing timer ends here: the replay runs on stream time alone.
    this.punctuationTime = undefined;
    const replay = this.retained;
    await this.aborted();
    await this.process(replay);
  }

  private sendToDeadLetter(raw: InputRecord, error: { kind: string; message: string; processor?: string }): void {
    this.outputs.push(deadLetter(raw, this.options.deadLetterTopic(raw.topic), error));
  }
}

function recordKey(raw: InputRecord): string {
  return `${raw.topic}/${raw.partition}/${raw.offset}`;
}

/** The per-node view of a task that a processor sees as its context. */
class NodeContext implements ProcessorContext {
  origin: RecordOrigin | undefined;
  private timestamp = 0;
  private queue: [string, StreamRecord<unknown, unknown>][] = [];
  private readonly children: Set<string>;
  private readonly storeViews = new Map<string, KeyValueStore<unknown>>();

  constructor(
    private readonly task: StreamTask,
    private readonly node: ProcessorNode,
    readonly log: Logger,
  ) {
    this.children = new Set(node.children);
  }

  begin(origin: RecordOrigin | undefined, timestamp: number): [string, StreamRecord<unknown, unknown>][] {
    this.origin = origin;
    this.timestamp = timestamp;
    this.queue = [];
    return this.queue;
  }

  get taskId(): string {
    return this.task.id;
  }

  get partition(): number {
    return this.task.partition;
  }

  get streamTime(): number {
    return this.task.processorTime;
  }

  store<V>(name: string): KeyValueStore<V> {
    let view = this.storeViews.get(name);
    if (!view) {
      if (!this.node.stores.includes(name)) {
        throw new TopologyError(`processor '${this.node.name}' used store '${name}' without declaring it (stores: ${this.node.stores.join(', ') || 'none'})`);
      }
      view = this.task.store(name)!;
      this.storeViews.set(name, view);
    }
    return view as KeyValueStore<V>;
  }

  globalStore<V>(name: string): ReadOnlyStore<V> {
    const store = this.node.globalStores.includes(name) ? this.task.globalStore(name) : undefined;
    if (!store) throw new TopologyError(`processor '${this.node.name}' used global store '${name}' without declaring it`);
    return store as ReadOnlyStore<V>;
  }

  forward<K, V>(to: string, key: K, value: V, options?: ForwardOptions): void {
    if (!this.children.has(to)) {
      throw new TopologyError(`processor '${this.node.name}' forwarded to '${to}', which is not one of its children (${[...this.children].join(', ') || 'none'})`);
    }
    const headers: Headers = options?.headers ?? {};
    if (this.task.checksValues && typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) Object.freeze(value);
    this.queue.push([to, { key, value, timestamp: options?.timestamp ?? this.timestamp, headers }]);
  }

  schedule(at: number, key: string): void {
    this.task.scheduleTimer(this.node.name, key, at);
  }

  cancel(key: string): void {
    this.task.cancelTimer(this.node.name, key);
  }

  cancelAll(key: string): void {
    for (const node of this.task.timerNodes) this.task.cancelTimer(node, key);
  }

  reject(kind: string, reason: string): void {
    this.task.reject(this.node.name, kind, reason);
  }

  count(event: string, by = 1): void {
    this.task.countDomainEvent(this.node.name, event, by);
  }
}

/** The timers' times in the task store, under their own key prefix (the store also holds stream time). */
function timerTimes(store: CachedStore<number>): TimerTimes {
  return {
    get: (id) => store.get(TIMER_PREFIX + id),
    peek: (id) => store.peek(TIMER_PREFIX + id),
    prefetch: (ids) => store.prefetch(ids.map((id) => TIMER_PREFIX + id)),
    put: (id, at) => store.put(TIMER_PREFIX + id, at),
    delete: (id) => store.delete(TIMER_PREFIX + id),
  };
}
