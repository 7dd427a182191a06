import { createReadStream, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import * as avro from 'avsc';
import type { Kafka } from '../runtime/kafka/kafkajs/client';
import type { Touchpoint } from '../processors/model/touchpoint';
import { partitionForKey } from '../runtime/kafka/partitioner';
import type { PartitionReader, ReadRecord } from '../runtime/kafka/adapter';
import { KafkajsPartitionReader } from '../runtime/kafka/kafkajs/partition-reader';
import { withRetries } from '../runtime/kafka/kafkajs/retry';
import type { RawHeaders } from '../runtime/records';
import { AvroSerde } from '../runtime/serde/avro-serde';
import type { SchemaRegistryClient } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { SCHEMAS_DIR } from '../topology';

/** One input record, as the replay hands it to touchpoints.raw. */
export interface ReplayRecord {
  /** Partition of touchpoints.raw it goes to (the live partition for a topic range). */
  partition: number;
  key: Buffer | null;
  /** The decoded touchpoint; null when the bytes do not decode, as live (they go to the dead-letter topic). */
  touchpoint: Touchpoint | null;
  /** The original bytes, kept only when `touchpoint` is null. */
  value: Buffer | null;
  /** The Kafka record timestamp (for files: the envelope's, else occurredAt). */
  timestamp: number;
  headers?: RawHeaders;
}

export interface InputDescription {
  kind: 'topic' | 'ndjson' | 'avro' | 'memory';
  /** Topic name, or file path. */
  name: string;
  /** Topic ranges: the requested time range, ISO-8601. */
  from?: string;
  to?: string;
  /** Topic ranges: offsets [start, end) read per partition. */
  offsets?: { partition: number; start: string; end: string }[];
}

export interface ReplaySource {
  readonly description: InputDescription;
  /** Partitions of the input topic, for a topic range; undefined for files. */
  readonly partitions: number | undefined;
  open(): Promise<void>;
  /** Records in replay order, in chunks; stops early once `stopped()` is true. */
  chunks(stopped: () => boolean): AsyncIterable<ReplayRecord[]>;
  /** Share of the input read so far (0..1), and the record total when known. */
  progress(): { fraction: number; total: number | null };
  close(): Promise<void>;
}

/** Input that cannot be replayed: says where (file and line, or topic and offset) and why. */
export class ReplayInputError extends Error {
  override name = 'ReplayInputError';
}

const CHUNK = 1000;
const catalog = SchemaCatalog.load(SCHEMAS_DIR);
const touchpointType = catalog.type('Touchpoint');

/** The key a touchpoint gets when its file does not say: the first identifier, as the simulator and channels key them. */
export function defaultKey(t: Touchpoint): Buffer {
  return Buffer.from(t.identifiers[0]?.value ?? t.eventId, 'utf8');
}

/** A touchpoint from JSON: optional fields take their schema defaults; `occurredAt` may be ISO-8601. */
export function touchpointFromJson(json: unknown): Touchpoint {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a JSON object');
  const fields = { ...(json as Record<string, unknown>) };
  for (const name of ['occurredAt', 'receivedAt']) {
    const v = fields[name];
    if (typeof v === 'string') {
      const parsed = Date.parse(v);
      if (Number.isNaN(parsed)) throw new Error(`${name}: '${v}' is neither milliseconds nor an ISO-8601 time`);
      fields[name] = parsed;
    }
  }
  try {
    return touchpointType.clone(fields) as Touchpoint;
  } catch {
    const problems: string[] = [];
    touchpointType.isValid(fields, {
      errorHook: (path, value, type) => problems.push(`${path.join('.') || '(record)'} = ${JSON.stringify(value)} is not ${typeName(type)}`),
    });
    throw new Error(`does not match schemas/Touchpoint.avsc: ${problems.slice(0, 3).join('; ') || 'invalid'}`);
  }
}

function typeName(type: avro.Type): string {
  return type.typeName === 'record' ? `a ${type.name ?? 'record'}` : type.typeName;
}

// --- in memory -------------------------------------------------------------------------------

/** Touchpoints already in memory (tests, benchmarks, tools): keyed and partitioned as a file would be, in array order. */
export class ArraySource implements ReplaySource {
  readonly partitions = undefined;
  readonly description: InputDescription;
  private done = 0;

  constructor(
    private readonly touchpoints: readonly Touchpoint[],
    private readonly partitionCount: number,
    name = 'touchpoints in memory',
  ) {
    this.description = { kind: 'memory', name };
  }

  async open(): Promise<void> {}

  async *chunks(stopped: () => boolean): AsyncIterable<ReplayRecord[]> {
    for (let i = 0; i < this.touchpoints.length; i += CHUNK) {
      const chunk = this.touchpoints.slice(i, i + CHUNK).map((touchpoint) => {
        const key = defaultKey(touchpoint);
        return { partition: partitionForKey(key, this.partitionCount), key, touchpoint, value: null, timestamp: touchpoint.occurredAt };
      });
      this.done = i + chunk.length;
      yield chunk;
      if (stopped()) return;
    }
  }

  progress(): { fraction: number; total: number | null } {
    return { fraction: this.touchpoints.length > 0 ? this.done / this.touchpoints.length : 1, total: this.touchpoints.length };
  }

  async close(): Promise<void> {}
}

// --- files ------------------------------------------------------------------------------------

/** A file read once from start to end; progress is the share of its bytes read. */
abstract class FileSource implements ReplaySource {
  readonly partitions = undefined;
  readonly description: InputDescription;
  private size = 0;
  protected read = 0;
  protected finished = false;

  constructor(
    protected readonly file: string,
    protected readonly partitionCount: number,
    kind: 'ndjson' | 'avro',
  ) {
    this.description = { kind, name: file };
  }

  async open(): Promise<void> {
    try {
      this.size = statSync(this.file).size;
    } catch (error) {
      throw new ReplayInputError(`${this.file}: cannot be read: ${(error as Error).message}`);
    }
  }

  abstract chunks(stopped: () => boolean): AsyncIterable<ReplayRecord[]>;

  progress(): { fraction: number; total: number | null } {
    return { fraction: this.finished ? 1 : this.size > 0 ? Math.min(0.999, this.read / this.size) : 0, total: null };
  }

  async close(): Promise<void> {}
}

// --- NDJSON -----------------------------------------------------------------------------------

/**
 * A file of touchpoints, one JSON object per line (blank lines skipped). A
 * line is a Touchpoint, or an envelope `{"partition": 2, "key": "...",
 * "timestamp": 1790845200000, "value": {touchpoint}}` (all but value
 * optional) that keeps a recorded topic's partitioning. Without one the key
 * is the first identifier's value and the partition its murmur2 hash, as
 * a Kafka producer would choose. Replayed in file order.
 */
export class NdjsonSource extends FileSource {
  constructor(file: string, partitionCount: number) {
    super(file, partitionCount, 'ndjson');
  }

  async *chunks(stopped: () => boolean): AsyncIterable<ReplayRecord[]> {
    const stream = createReadStream(this.file, { highWaterMark: 1 << 20 });
    // keeps a character split between two reads whole
    const utf8 = new StringDecoder('utf8');
    let rest = '';
    let line = 0;
    let chunk: ReplayRecord[] = [];
    let chunkBytes = 0;
    try {
      for await (const data of stream as AsyncIterable<Buffer>) {
        const text = rest + utf8.write(data);
        let start = 0;
        for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
          line++;
          const record = this.parse(text.slice(start, end), line);
          if (record) chunk.push(record);
          chunkBytes += end + 1 - start;
          start = end + 1;
          if (chunk.length >= CHUNK) {
            this.read += chunkBytes;
            chunkBytes = 0;
            yield chunk;
            chunk = [];
            if (stopped()) return;
          }
        }
        rest = text.slice(start);
      }
      line++;
      const last = this.parse(rest + utf8.end(), line);
      if (last) chunk.push(last);
      this.finished = true;
      if (chunk.length > 0) yield chunk;
    } finally {
      stream.destroy();
    }
  }

  private parse(text: string, line: number): ReplayRecord | undefined {
    if (text.trim() === '') return undefined;
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      const envelope = json !== null && typeof json === 'object' && 'value' in json && !('eventId' in json);
      const touchpoint = touchpointFromJson(envelope ? json.value : json);
      const key = envelope && typeof json.key === 'string' ? Buffer.from(json.key, 'utf8') : defaultKey(touchpoint);
      let partition = partitionForKey(key, this.partitionCount);
      if (envelope && json.partition !== undefined) {
        partition = json.partition as number;
        if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
          throw new Error(`partition ${JSON.stringify(json.partition)} is not one of the ${this.partitionCount} partitions (--partitions)`);
        }
      }
      const timestamp = envelope && typeof json.timestamp === 'number' ? json.timestamp : touchpoint.occurredAt;
      return { partition, key, touchpoint, value: null, timestamp };
    } catch (error) {
      throw new ReplayInputError(`${this.file}:${line}: ${(error as Error).message}`);
    }
  }
}

// --- Avro object container file ---------------------------------------------------------------

/**
 * An Avro object container file of Touchpoint records (any codec avsc
 * reads: null, deflate). The writer schema in the file header is resolved
 * to schemas/Touchpoint.avsc, so files written with an older compatible
 * schema read fine. Keys and partitions as for NDJSON without an envelope.
 */
export class AvroFileSource extends FileSource {
  constructor(file: string, partitionCount: number) {
    super(file, partitionCount, 'avro');
  }

  async *chunks(stopped: () => boolean): AsyncIterable<ReplayRecord[]> {
    const input = createReadStream(this.file, { highWaterMark: 1 << 20 });
    input.on('data', (data: Buffer | string) => (this.read += data.length));
    const decoder = new avro.streams.BlockDecoder({ readerSchema: touchpointType } as never);
    input.on('error', (error) => decoder.destroy(error));
    input.pipe(decoder);
    let chunk: ReplayRecord[] = [];
    try {
      for await (const touchpoint of decoder as AsyncIterable<Touchpoint>) {
        const key = defaultKey(touchpoint);
        chunk.push({ partition: partitionForKey(key, this.partitionCount), key, touchpoint, value: null, timestamp: touchpoint.occurredAt });
        if (chunk.length >= CHUNK) {
          yield chunk;
          chunk = [];
          if (stopped()) return;
        }
      }
      this.finished = true;
      if (chunk.length > 0) yield chunk;
    } catch (error) {
      throw new ReplayInputError(`${this.file}: not an Avro container file of Touchpoint records: ${(error as Error).message}`);
    } finally {
      input.destroy();
      decoder.destroy();
    }
  }
}

// --- a time range of a live topic -------------------------------------------------------------

export interface TopicRangeOptions {
  kafka: Kafka;
  /** The live registry: records carry its schema ids. Only read, never written to. */
  registry: SchemaRegistryClient;
  topic: string;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

/**
 * A time range of a live topic: on every partition, the offsets from the
 * first record with a Kafka timestamp at or after `from` to the first at
 * or after `to` (the broker's time index), read read_committed outside any
 * consumer group, so nothing about the production consumers changes.
 * Partitions are merged into one deterministic order: each partition stays
 * in offset order, and the next record is always the partition head with
 * the smallest (timestamp, partition). Values are decoded with the live
 * registry's writer schemas and resolved to schemas/Touchpoint.avsc.
 */
export class TopicRangeSource implements ReplaySource {
  readonly description: InputDescription;
  private partitionList: number[] = [];
  private readonly reader: PartitionReader;
  private readonly serde: AvroSerde<Touchpoint>;
  private ranges = new Map<number, { start: bigint; end: bigint }>();
  private total = 0;
  private done = 0;
  private opened = false;

  constructor(private readonly options: TopicRangeOptions) {
    this.description = { kind: 'topic', name: options.topic, from: new Date(options.from).toISOString(), to: new Date(options.to).toISOString() };
    this.reader = new KafkajsPartitionReader(options.kafka);
    // Never init()'d: that would register a schema. prepare() and deserialize() only read.
    this.serde = new AvroSerde<Touchpoint>(options.registry, touchpointType);
  }

  get partitions(): number {
    return this.partitionList.length;
  }

  /** Looks the range up (idempotent). */
  async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    const { kafka, topic, from, to } = this.options;
    if (!(from < to)) throw new ReplayInputError(`--from ${new Date(from).toISOString()} must be before --to ${new Date(to).toISOString()}`);
    const admin = kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) throw new ReplayInputError(`topic ${topic} does not exist (check --topic and the brokers)`);
      const metadata = await withRetries(() => admin.fetchTopicMetadata({ topics: [topic] }));
      this.partitionList = metadata.topics[0]!.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
    } finally {
      await admin.disconnect();
    }
    await this.reader.connect();
    const starts = await this.reader.offsetsForTime(topic, this.partitionList, from);
    const ends = await this.reader.offsetsForTime(topic, this.partitionList, to);
    for (const p of this.partitionList) {
      const start = starts.get(p)!;
      const end = ends.get(p)! > start ? ends.get(p)! : start;
      this.ranges.set(p, { start, end });
      this.total += Number(end - start);
    }
    this.description.offsets = this.partitionList.map((p) => ({ partition: p, start: String(this.ranges.get(p)!.start), end: String(this.ranges.get(p)!.end) }));
  }

  async *chunks(stopped: () => boolean): AsyncIterable<ReplayRecord[]> {
    const feeds = this.partitionList.map((p) => ({ partition: p, feed: new PartitionFeed(this.reader, this.options.topic, p, this.ranges.get(p)!, stopped) }));
    let pending: { partition: number; record: ReadRecord }[] = [];
    const decoded = async (): Promise<ReplayRecord[]> => {
      const records = pending;
      pending = [];
      await this.serde.prepare(this.options.topic, records.map((r) => r.record.value));
      return records.map(({ partition, record }) => this.decode(partition, record));
    };
    for await (const next of mergeByTimestamp(feeds.map(({ partition, feed }) => ({ partition, next: () => feed.next() })))) {
      pending.push(next);
      this.done++;
      if (pending.length >= CHUNK) {
        yield await decoded();
        if (stopped()) return;
      }
    }
    if (pending.length > 0) yield await decoded();
  }

  private decode(partition: number, record: ReadRecord): ReplayRecord {
    let touchpoint: Touchpoint | null = null;
    if (record.value !== null) {
      try {
        touchpoint = this.serde.deserialize(this.options.topic, record.value);
      } catch {
        touchpoint = null;
      }
    }
    return {
      partition,
      key: record.key,
      touchpoint,
      value: touchpoint === null ? record.value : null,
      timestamp: Number(record.timestamp),
      headers: record.headers,
    };
  }

  progress(): { fraction: number; total: number | null } {
    return { fraction: this.total > 0 ? Math.min(1, this.done / this.total) : 1, total: this.total };
  }

  async close(): Promise<void> {
    await this.reader.disconnect();
  }
}

/**
 * Merges partitions into one order: every partition stays in its own
 * (offset) order, and the next record is the partition head with the
 * smallest (timestamp, partition). Each feed hands over runs of records
 * (a fetch) and null at its end.
 */
export async function* mergeByTimestamp<R extends { timestamp: string }>(
  feeds: { partition: number; next(): Promise<R[] | null> }[],
): AsyncIterable<{ partition: number; record: R }> {
  const sorted = [...feeds].sort((a, b) => a.partition - b.partition);
  const heads = sorted.map(() => [] as R[]);
  const positions = sorted.map(() => 0);
  const finished = sorted.map(() => false);
  for (;;) {
    for (let i = 0; i < sorted.length; i++) {
      while (!finished[i] && positions[i]! >= heads[i]!.length) {
        const run = await sorted[i]!.next();
        if (run === null) finished[i] = true;
        else {
          heads[i] = run;
          positions[i] = 0;
        }
      }
    }
    let best = -1;
    let bestTime = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (finished[i]) continue;
      const time = Number(heads[i]![positions[i]!]!.timestamp);
      if (best < 0 || time < bestTime) {
        best = i;
        bestTime = time;
      }
    }
    if (best < 0) return;
    yield { partition: sorted[best]!.partition, record: heads[best]![positions[best]!++]! };
  }
}

/** Pulls one partition's range fetch by fetch, with the next fetch already under way. */
class PartitionFeed {
  private position: bigint;
  private inFlight: Promise<ReadRecord[] | null> | undefined;
  private ended = false;

  constructor(
    private readonly reader: PartitionReader,
    private readonly topic: string,
    private readonly partition: number,
    private readonly range: { start: bigint; end: bigint },
    private readonly stopped: () => boolean,
  ) {
    this.position = range.start;
  }

  /** The next non-empty run of records, or null at the end of the range. */
  async next(): Promise<ReadRecord[] | null> {
    for (;;) {
      const records = await (this.inFlight ?? this.fetch());
      this.inFlight = records === null || this.ended ? undefined : this.fetch();
      if (records === null) return null;
      if (records.length > 0) return records;
    }
  }

  private async fetch(): Promise<ReadRecord[] | null> {
    if (this.ended || this.position >= this.range.end || this.stopped()) return null;
    let got: ReadRecord[] | undefined;
    const reached = await this.reader.read({
      topic: this.topic,
      partition: this.partition,
      from: this.position,
      until: this.range.end,
      onRecords: async (records) => {
        got = records;
      },
      stopped: () => got !== undefined || this.stopped(),
    });
    if (got === undefined && reached === this.position) {
      // Nothing readable before the end of the range: an open transaction holds the last stable offset back.
      this.ended = true;
      return null;
    }
    this.position = reached;
    if (this.position >= this.range.end) this.ended = true;
    return got ?? [];
  }
}
