import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Touchpoint } from '../processors/model/touchpoint';
import { InProcessEngine, type InProcessEngineOptions } from '../runtime/in-process-engine';
import { textHeaders, type OutputRecord } from '../runtime/records';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { InMemoryRegistry, type SchemaRegistryClient } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import type { TaskBacking } from '../runtime/state/backing';
import { MemoryBacking } from '../runtime/state/memory-backing';
import { RocksBacking } from '../runtime/state/rocks-backing';
import type { Topology } from '../runtime/topology';
import { buildTopology, SCHEMAS_DIR, type TopologyOptions } from '../topology';
import { VariantCollector } from './collector';
import { DiffTracker } from './diff';
import { OutputDecoder, outputTopics } from './records';
import { buildReport, type ReplayReport } from './report';
import type { RuleSet } from './rules';
import type { ReplaySource } from './sources';

/** Receives a variant's product outputs (commands, decisions, segments, views, lift, audit, dead letters) as bytes. */
export interface OutputSink {
  write(records: readonly OutputRecord[]): Promise<void>;
}

export interface VariantOptions {
  /** 'baseline', 'variant', or any label; the first variant is the baseline of the diff. */
  name: string;
  rules: RuleSet;
  /** Topic prefix of this variant's topology: its outputs carry it (for --output-prefix). */
  topicPrefix?: string;
  /** Registry of this variant's serdes; the replay's own in-memory one by default. */
  registry?: SchemaRegistryClient;
  /** Where this variant's outputs also go, e.g. Kafka topics under its prefix. */
  sink?: OutputSink;
}

export interface ReplayProgress {
  records: number;
  /** Share of the input read, 0..1. */
  fraction: number;
  total: number | null;
  /** Event time of the latest input record. */
  eventTime: number | null;
  elapsedMs: number;
}

export interface ReplayOptions {
  source: ReplaySource;
  /** One or two; the first is the baseline. */
  variants: VariantOptions[];
  /** Partitions of the replayed topology when the source is a file (a topic range uses the topic's). */
  partitions?: number;
  /** The replay's own state directory (RocksDB per task and variant). */
  stateDir: string;
  /** rocksdb (default: bounded memory for long replays) or memory (short replays, tests). */
  state?: 'rocksdb' | 'memory';
  /** Keep the state directory afterwards (removed by default). */
  keepState?: boolean;
  /** Most input records per driver run (default 1000). */
  batch?: number;
  /**
   * Most record-timestamp time one driver run spans (default 1000 ms; 0: no limit). Within a run
   * the driver processes each raw partition's records in turn, so the profile task may see two
   * partitions' records up to this far apart out of timestamp order, as live sees partitions
   * consumed concurrently; links reach the identity graph between runs.
   */
  tickMs?: number;
  /** At the end, move stream time this far past the last event so timers due by then fire (default 0). */
  settleMs?: number;
  /** Outputs before this event time are warm-up: they build state but are not counted in the report. */
  reportFrom?: number;
  cacheEntries?: number;
  /**
   * The test driver's checks (runtime/task.ts, `checkValues`): store values
   * and forwarded records frozen, so a processor that changes a value it
   * does not own fails, and store values that must read back from their
   * bytes unchanged. For checking a rule or processor change; slower.
   */
  checkValues?: boolean;
  /** Checked between chunks: true stops the replay early with a partial report. */
  stopped?: () => boolean;
  onProgress?: (progress: ReplayProgress) => void;
  /** Every product output of every variant, as bytes (for tests and tools). */
  onOutput?: (variant: string, record: OutputRecord) => void;
  /** Application id stem of the replay's topologies (changelog and transactional names; never production's). */
  appId?: string;
  /** Example decision traces per trigger and kind of difference (default 3). */
  examples?: number;
  /** Builds each variant's topology: topology.ts's buildTopology by default (a benchmark may narrow it). */
  topology?: (options: TopologyOptions) => Topology;
}

export interface ReplayResult {
  report: ReplayReport;
  /** false when stopped early. */
  complete: boolean;
}

const DEFAULT_BATCH = 1000;
const DEFAULT_TICK_MS = 1000;

/** One variant's topology on its own driver, with what it produced flowing to its collector and sink. */
class VariantRun {
  driver!: InProcessEngine;
  readonly backings: TaskBacking[] = [];
  private pendingOut: OutputRecord[] = [];

  constructor(
    readonly options: VariantOptions,
    readonly collector: VariantCollector,
    readonly rawTopic: string,
    readonly encoder: AvroSerde<Touchpoint>,
    /** Index of an earlier variant whose encoded input bytes this one reuses (same registry and raw topic), or -1. */
    readonly sharesEncodingWith: number,
    private readonly onOutput?: (variant: string, record: OutputRecord) => void,
  ) {}

  async start(topology: Topology, state: 'rocksdb' | 'memory', stateDir: string, options: Pick<ReplayOptions, 'cacheEntries' | 'checkValues'>): Promise<void> {
    const driverOptions: InProcessEngineOptions = {
      cacheEntries: options.cacheEntries,
      checkValues: options.checkValues === true,
      backing: async (taskId) => {
        const backing = state === 'memory' ? new MemoryBacking() : await RocksBacking.open(join(stateDir, this.options.name, taskId));
        this.backings.push(backing);
        return backing;
      },
      onOutput: (record) => this.handle(record),
    };
    this.driver = await InProcessEngine.create(topology, driverOptions);
    await this.encoder.init(this.rawTopic);
  }

  /** Runs the driver until nothing is pending. */
  async run(): Promise<void> {
    await this.driver.run();
    await this.drain();
  }

  async advanceTime(to: number): Promise<void> {
    await this.driver.advanceTime(to);
    await this.drain();
  }

  async close(): Promise<void> {
    for (const backing of this.backings) await backing.close();
  }

  private handle(record: OutputRecord): void {
    if (!this.collector.isProductOutput(record.topic)) return;
    this.collector.accept(record);
    if (this.options.sink) this.pendingOut.push(record);
    this.onOutput?.(this.options.name, record);
  }

  private async drain(): Promise<void> {
    if (this.options.sink && this.pendingOut.length > 0) {
      const out = this.pendingOut;
      this.pendingOut = [];
      await this.options.sink.write(out);
    }
  }
}

/**
 * Replays the source through the product topology once per variant, on
 * the in-process driver, with event time only: each variant gets the same
 * records in the same order and partitions, in batches; after each batch
 * every variant's driver runs until nothing is pending. The variants run
 * interleaved, so the input is read once and a stop leaves both at the
 * same point. Nothing is written to Kafka unless a variant has a sink.
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const startedAt = Date.now();
  const { source } = options;
  if (options.variants.length < 1 || options.variants.length > 2) throw new RangeError('a replay runs one or two variants (baseline, variant)');
  const batch = options.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a whole number >= 1 (got ${batch})`);
  const tick = options.tickMs ?? DEFAULT_TICK_MS;
  if (!(tick >= 0)) throw new RangeError(`tickMs must be >= 0 (got ${tick})`);
  const state = options.state ?? 'rocksdb';
  const stopped = options.stopped ?? (() => false);
  // its own directory: it is removed at the end, so it must not hold anything else
  const existing = await readdir(options.stateDir).catch(() => [] as string[]);
  if (existing.length > 0) throw new Error(`the replay's state directory ${options.stateDir} is not empty: give it a new or empty one (--state-dir)`);
  await source.open();
  const partitions = source.partitions ?? options.partitions ?? 4;
  const registry = new InMemoryRegistry();
  const catalog = SchemaCatalog.load(SCHEMAS_DIR);
  const decoder = new OutputDecoder(catalog);
  const diff = options.variants.length === 2 ? new DiffTracker(options.variants[0]!.name, options.variants[1]!.name, options.examples ?? 3) : undefined;
  const appId = options.appId ?? 'replay';

  const running: VariantRun[] = [];
  let records = 0;
  let undecodable = 0;
  let firstEventAt: number | null = null;
  let lastEventAt: number | null = null;
  let complete: boolean;
  try {
    for (const [index, variant] of options.variants.entries()) {
      const variantRegistry = variant.registry ?? registry;
      const topics = outputTopics(variant.topicPrefix ?? '');
      const topology = (options.topology ?? buildTopology)({
        appId: `${appId}-${variant.name}`,
        partitions,
        config: variant.rules.config,
        registry: variantRegistry,
        topicPrefix: variant.topicPrefix,
      });
      const run = new VariantRun(
        variant,
        new VariantCollector(variant.name, topics, decoder, diff ? { tracker: diff, side: index === 0 ? 0 : 1 } : undefined, options.reportFrom),
        topics.raw,
        new AvroSerde<Touchpoint>(variantRegistry, catalog.type('Touchpoint')),
        running.findIndex((r) => (r.options.registry ?? registry) === variantRegistry && r.rawTopic === topics.raw),
        options.onOutput,
      );
      running.push(run);
      await run.start(topology, state, options.stateDir, options);
    }

    const runAll = async (): Promise<void> => {
      for (const v of running) await v.run();
    };

    let sinceRun = 0;
    let runStartedAt = 0;
    const encoded: (Buffer | null)[] = new Array(running.length);
    for await (const chunk of source.chunks(stopped)) {
      for (const record of chunk) {
        if (sinceRun > 0 && tick > 0 && record.timestamp - runStartedAt >= tick) {
          await runAll();
          sinceRun = 0;
        }
        if (sinceRun === 0) runStartedAt = record.timestamp;
        const t = record.touchpoint;
        if (t === null) undecodable++;
        else {
          if (firstEventAt === null || t.occurredAt < firstEventAt) firstEventAt = t.occurredAt;
          if (lastEventAt === null || t.occurredAt > lastEventAt) lastEventAt = t.occurredAt;
        }
        const pipe = { partition: record.partition, timestamp: record.timestamp, headers: record.headers ? textHeaders(record.headers) : undefined };
        for (let i = 0; i < running.length; i++) {
          const v = running[i]!;
          let value: Buffer | null;
          if (t === null) value = record.value;
          else if (v.sharesEncodingWith >= 0) value = encoded[v.sharesEncodingWith]!;
          else value = v.encoder.serialize(v.rawTopic, t);
          encoded[i] = value;
          v.driver.pipeRaw(v.rawTopic, record.key, value, pipe);
          v.collector.touchpoints++;
        }
        records++;
        if (++sinceRun >= batch) {
          await runAll();
          sinceRun = 0;
        }
      }
      options.onProgress?.({ records, ...source.progress(), eventTime: lastEventAt, elapsedMs: Date.now() - startedAt });
      if (stopped()) break;
    }
    // stopped before the whole input was read (a source may also end early on a stop, between fetches)
    complete = !(stopped() && source.progress().fraction < 1);
    await runAll();
    const settle = options.settleMs ?? 0;
    if (complete && settle > 0 && lastEventAt !== null) {
      for (const v of running) await v.advanceTime(lastEventAt + settle);
    }
    options.onProgress?.({ records, ...source.progress(), eventTime: lastEventAt, elapsedMs: Date.now() - startedAt });
  } finally {
    await source.close();
    for (const v of running) await v.close();
    if (!options.keepState) await rm(options.stateDir, { recursive: true, force: true });
  }

  const report = buildReport({
    input: source.description,
    records,
    undecodable,
    partitions,
    firstEventAt,
    lastEventAt,
    complete,
    settings: { batch, tickMs: tick, settleMs: options.settleMs ?? 0, state, reportFrom: options.reportFrom ?? null },
    variants: running.map((v) => ({ collector: v.collector, rules: v.options.rules, topicPrefix: v.options.topicPrefix ?? null })),
    diff: diff ? diff.result(decoder) : null,
    startedAt,
    finishedAt: Date.now(),
  });
  return { report, complete };
}
