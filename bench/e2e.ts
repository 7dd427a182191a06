/**
 * npm run bench:e2e [-- --touchpoints 500000 --people 20000 --seed 1 --latency-seconds 20 --results]
 *
 * The product end to end, on one broker, in one run, on the same simulated
 * touchpoints (Avro, pre-produced to a fresh topic prefix per run):
 *
 *   (a) raw kafkajs passthrough: consume touchpoints.raw, produce every record to another topic;
 *   (b) the full engine (cli/app.ts runEngine: identity, profile, scoring, segments, triggers,
 *       eligibility, outcomes), exactly-once;
 *   (c) the same, at-least-once;
 *   (d) latency: a fresh engine (exactly-once) fed live at half of (b)'s rate; the time from
 *       producing a touchpoint to the command or decision it caused being readable (read_committed).
 *
 * Throughput is touchpoints / (time from start until the engine's group has committed every raw
 * offset and consumed everything it wrote to its internal topics: demo/pipeline.ts). Prints a table;
 * with --results appends it to bench/RESULTS.md with the machine, the date and this command.
 * --only a,b,c,d runs a subset (e.g. under node --cpu-prof); --keep keeps the topics.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type Admin, type Message, type Producer } from '../runtime/kafka/kafkajs/client';
import pino from 'pino';
import { assemble, provisionTopics, runEngine, type App } from '../cli/app';
import type { Engine } from '../runtime/kafka/engine';
import { up } from '../local-stack/stack';
import { createPlainTopics } from '../runtime/kafka/kafkajs/topics';
import type { Touchpoint } from '../processors/model/touchpoint';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { createPopulation } from '../simulator/population';
import { TouchpointGenerator } from '../simulator/generator';
import { SCHEMAS_DIR, topicNames } from '../topology';
import { eventually } from '../runtime/retry';
import { committedTotal, TopicFollower, type BatchHandler } from '../runtime/kafka/kafkajs/topic-follower';
import { PipelineWatch } from '../demo/pipeline';
import { appendResults } from '../demo/results';
import type { CommandRecord, DecisionRecord } from '../demo/tally';
import { ProgressBar } from '../cli/progress';
import { option } from './support';

const CHUNK = 2000;
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
const stateDirs: string[] = [];

interface Input {
  messages: Message[];
  eventIds: string[];
  occurredAt: number[];
}

interface Throughput {
  label: string;
  /** Where the engine's time went (its own histograms), for the notes. */
  breakdown?: string;
  /** Touchpoints per second until the whole pipeline settled. */
  rate: number;
  seconds: number;
  /** Touchpoints per second until every raw offset was committed (the profile task may still be behind then). */
  rawRate: number;
  peakRss: number;
}

interface Latency {
  rate: number;
  seconds: number;
  sent: number;
  commands: number[];
  decisions: number[];
  peakRss: number;
}

class RssSampler {
  peak = process.memoryUsage().rss;
  private readonly timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage().rss)), 200);
  stop(): number {
    clearInterval(this.timer);
    return Math.max(this.peak, process.memoryUsage().rss);
  }
}

/** N simulated touchpoints, Avro-encoded once (the bytes are produced to every run's input topic). */
async function simulate(app: App, total: number, people: number, seed: number): Promise<Input> {
  const topic = topicNames(app.settings.topicPrefix).raw;
  const serde = new AvroSerde<Touchpoint>(app.registry, SchemaCatalog.load(SCHEMAS_DIR).type('Touchpoint'));
  await serde.init(topic);
  const generator = new TouchpointGenerator(createPopulation({ seed, people }), { days: 3650 });
  const input: Input = { messages: [], eventIds: [], occurredAt: [] };
  for (let t = generator.take(); t !== undefined && input.messages.length < total; t = generator.take()) {
    input.messages.push({ key: t.identifiers[0]?.value ?? null, value: serde.serialize(topic, t) });
    input.eventIds.push(t.eventId);
    input.occurredAt.push(t.occurredAt);
  }
  if (input.messages.length < total) throw new Error(`the simulation gave only ${input.messages.length} touchpoints: raise --people`);
  return input;
}

async function produceAll(producer: Producer, topic: string, messages: Message[], label: string): Promise<void> {
  const total = messages.length;
  const progress = new ProgressBar({ label, unit: 'touchpoints' });
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += CHUNK) {
    if (inFlight.length >= 4) await inFlight.shift();
    inFlight.push(producer.send({ topic, messages: messages.slice(i, i + CHUNK), acks: -1 }));
    progress.update({ count: Math.min(i + CHUNK, total), total });
  }
  await Promise.all(inFlight);
  progress.finish({ count: total, total });
}

/** An app of the product with its own id, topic prefix, state directory and guarantee. */
async function app(name: string, guarantee: 'exactly_once' | 'at_least_once'): Promise<App> {
  const id = `e2e-${stamp}-${name}`;
  const stateDir = await mkdtemp(join(tmpdir(), `lp-e2e-${name}-`));
  stateDirs.push(stateDir);
  const env = { ...process.env, LP_APP_ID: id, LP_TOPIC_PREFIX: `${id}.`, LP_STATE_DIR: stateDir, LP_GUARANTEE: guarantee, LP_HTTP_PORT: '0' };
  const assembled = assemble({ log, env });
  await provisionTopics(assembled, { keepForever: true });
  return assembled;
}

async function passthrough(kafka: Kafka, admin: Admin, input: string, total: number, partitions: number): Promise<Throughput> {
  const groupId = `e2e-${stamp}-a`;
  const output = `${groupId}.out`;
  await createPlainTopics(admin, [output], partitions);
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 2 * 1024 * 1024 });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  const rss = new RssSampler();
  const started = Date.now();
  await consumer.run({
    partitionsConsumedConcurrently: partitions,
    eachBatch: async ({ batch }) => {
      for (let i = 0; i < batch.messages.length; i += CHUNK) {
        await producer.send({ topic: output, messages: batch.messages.slice(i, i + CHUNK).map((m) => ({ key: m.key, value: m.value })) });
      }
    },
  });
  const progress = new ProgressBar({ label: '(a) kafkajs passthrough', unit: 'touchpoints' });
  await eventually(
    async () => {
      const done = await committedTotal(admin, groupId, input);
      progress.update({ count: done, total });
      return done >= total;
    },
    '(a) to commit every input offset',
    600_000,
    50,
  );
  const seconds = (Date.now() - started) / 1000;
  progress.finish({ count: total, total });
  const peakRss = rss.stop();
  await consumer.disconnect();
  await producer.disconnect();
  return { label: '(a) kafkajs passthrough', rate: total / seconds, seconds, rawRate: total / seconds, peakRss };
}

async function engineRun(admin: Admin, run: App, total: number, label: string): Promise<Throughput> {
  const topics = topicNames(run.settings.topicPrefix);
  const rss = new RssSampler();
  const started = Date.now();
  const running = await runEngine(run, log);
  const watch = new PipelineWatch(admin, running.engine, run.settings.appId, topics, 3 * run.settings.commitIntervalMs + 200);
  const progress = new ProgressBar({ label, unit: 'touchpoints' });
  let rawDoneAt = 0;
  let settledAt = 0;
  try {
    await eventually(
      async () => {
        const s = await watch.poll(total);
        progress.update({ count: s.raw, total });
        if (s.raw >= total && rawDoneAt === 0) rawDoneAt = Date.now();
        settledAt = s.lastChange;
        return s.done;
      },
      `${label} to process every touchpoint`,
      900_000,
      50,
    );
  } finally {
    progress.finish({ count: total, total });
  }
  const breakdown = await engineBreakdown(running.engine, run);
  await running.stop();
  const peakRss = rss.stop();
  const seconds = (settledAt - started) / 1000;
  return { label, rate: total / seconds, seconds, rawRate: total / ((rawDoneAt - started) / 1000), peakRss, breakdown };
}

/** Sums of the engine's own histograms: time in batches per sub-topology, time in commits, and how many. */
async function engineBreakdown(engine: Engine, run: App): Promise<string> {
  const sums = new Map<string, number>();
  for (const metric of [engine.metrics.processingSeconds, engine.metrics.commitSeconds]) {
    for (const v of (await metric.get()).values) {
      if (!v.metricName?.endsWith('_sum') && !v.metricName?.endsWith('_count')) continue;
      const sub = (v.labels as Record<string, string | number | undefined>).subtopology;
      const key = `${v.metricName.replace(/^lp_/, '')}${sub !== undefined ? `[${String(sub)}]` : ''}`;
      sums.set(key, (sums.get(key) ?? 0) + v.value);
    }
  }
  const topics = topicNames(run.settings.topicPrefix);
  const names: Record<string, string> = {};
  for (const sub of engine.topology.subTopologies) {
    const source = sub.sources[0]!.options.topic;
    names[String(sub.id)] = source === topics.raw ? 'ingest+resolve' : source === topics.links ? 'link' : 'profile';
  }
  const parts = Object.entries(names).map(
    ([id, name]) => `${name} ${(sums.get(`batch_processing_seconds_sum[${id}]`) ?? 0).toFixed(1)} s in ${sums.get(`batch_processing_seconds_count[${id}]`) ?? 0} batches`,
  );
  const commits = sums.get('commit_seconds_count') ?? 0;
  const commitSeconds = sums.get('commit_seconds_sum') ?? 0;
  parts.push(`commits ${commitSeconds.toFixed(1)} s in ${commits} (mean ${commits > 0 ? ((commitSeconds / commits) * 1000).toFixed(0) : '-'} ms)`);
  return parts.join('; ');
}

/** Feeds a fresh engine at `rate` and times touchpoint -> command (or decision) readable. */
async function latencyRun(kafka: Kafka, run: App, input: Input, rate: number, seconds: number): Promise<Latency> {
  const topics = topicNames(run.settings.topicPrefix);
  const catalog = SchemaCatalog.load(SCHEMAS_DIR);
  const running = await runEngine(run, log);
  const rss = new RssSampler();
  const sentAt = new Map<string, number>();
  const occurredAt = new Map<string, number>();
  const commands: number[] = [];
  const decisions: number[] = [];
  const admin = kafka.admin();
  await admin.connect();
  const commandSerde = new AvroSerde<CommandRecord>(run.registry, catalog.type('EngagementCommand'));
  const decisionSerde = new AvroSerde<DecisionRecord>(run.registry, catalog.type('EngagementDecision'));
  // A command caused by a touchpoint directly (not by a timer later) has the cause's event time as createdAt.
  const timeTo =
    <T extends { trace: { causeEventIds: readonly string[] } }>(serde: AvroSerde<T>, into: number[], createdAt: (record: T) => number): BatchHandler =>
    async (messages) => {
      const at = Date.now();
      await serde.prepare('', messages.map((m) => m.value));
      for (const m of messages) {
        const record = serde.deserialize('', m.value!);
        const cause = record.trace.causeEventIds[record.trace.causeEventIds.length - 1];
        const sent = cause === undefined ? undefined : sentAt.get(cause);
        if (sent !== undefined && occurredAt.get(cause!) === createdAt(record)) into.push(at - sent);
      }
    };
  const reader = new TopicFollower(
    kafka,
    `${run.settings.appId}-latency-reader`,
    {
      [topics.commands]: timeTo(commandSerde, commands, (c) => c.createdAt),
      [topics.decisions]: timeTo(decisionSerde, decisions, (d) => d.decidedAt),
    },
    { maxWaitTimeInMs: 20 },
  );
  await reader.start();
  await eventually(async () => running.engine.readiness().ready, 'the latency engine to be ready', 120_000, 200);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  // 50 requests a second, each at its time: a touchpoint's clock starts when its request is sent.
  const perRequest = Math.max(1, Math.round(rate / 50));
  const total = Math.min(input.messages.length, Math.round(rate * seconds));
  const started = performance.now();
  const progress = new ProgressBar({ label: `(d) latency at ${Math.round(rate)}/s`, unit: 'touchpoints' });
  for (let i = 0; i < total; i += perRequest) {
    const due = started + (i / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const now = Date.now();
    const end = Math.min(i + perRequest, total);
    for (let j = i; j < end; j++) {
      sentAt.set(input.eventIds[j]!, now);
      occurredAt.set(input.eventIds[j]!, input.occurredAt[j]!);
    }
    await producer.send({ topic: topics.raw, messages: input.messages.slice(i, end), acks: -1 });
    progress.update({ count: end, total });
  }
  const elapsed = (performance.now() - started) / 1000;
  progress.finish({ count: total, total });
  const watch = new PipelineWatch(admin, running.engine, run.settings.appId, topics, 3 * run.settings.commitIntervalMs + 200);
  await eventually(async () => (await watch.poll(total)).done, 'the latency engine to process everything', 60_000, 100).catch((error: unknown) => console.error(String(error)));
  await eventually(() => reader.caughtUp(admin), 'reading every command', 60_000, 200).catch((error: unknown) => console.error(String(error)));
  const peakRss = rss.stop();
  await reader.stop();
  await producer.disconnect();
  await admin.disconnect();
  await running.stop();
  return { rate: total / elapsed, seconds: elapsed, sent: total, commands, decisions, peakRss };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const total = Number(option('touchpoints', '500000'));
  const people = Number(option('people', '20000'));
  const seed = Number(option('seed', '1'));
  const latencySeconds = Number(option('latency-seconds', '20'));
  const only = new Set(option('only', 'a,b,c,d').split(','));
  const keep = process.argv.includes('--keep');
  const results = process.argv.includes('--results');
  await up((line) => console.error(line));

  const b = await app('b', 'exactly_once');
  const c = await app('c', 'at_least_once');
  const kafka = new Kafka({ clientId: `e2e-${stamp}`, ...b.kafka, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const partitions = b.settings.partitions;

  const generated = Date.now();
  const input = await simulate(b, total, people, seed);
  const bytes = input.messages.reduce((sum, m) => sum + (m.value as Buffer).length, 0);
  console.error(`simulated ${total.toLocaleString('en-US')} touchpoints of ${people.toLocaleString('en-US')} people (${(bytes / 1e6).toFixed(0)} MB of Avro) in ${((Date.now() - generated) / 1000).toFixed(1)} s`);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await produceAll(producer, topicNames(b.settings.topicPrefix).raw, input.messages, `producing to ${b.settings.appId}`);
  if (only.has('c')) await produceAll(producer, topicNames(c.settings.topicPrefix).raw, input.messages, `producing to ${c.settings.appId}`);
  await producer.disconnect();
  const baseRss = process.memoryUsage().rss;

  const runs: Throughput[] = [];
  if (only.has('a')) runs.push(await passthrough(kafka, admin, topicNames(b.settings.topicPrefix).raw, total, partitions));
  if (only.has('b')) runs.push(await engineRun(admin, b, total, '(b) engine, exactly-once'));
  if (only.has('c')) runs.push(await engineRun(admin, c, total, '(c) engine, at-least-once'));
  const bRun = runs.find((r) => r.label.startsWith('(b)'));
  let latency: Latency | undefined;
  if (only.has('d')) {
    const rate = Number(option('latency-rate', String(Math.round((bRun?.rate ?? 20_000) / 2))));
    latency = await latencyRun(kafka, await app('d', 'exactly_once'), input, rate, latencySeconds);
  }

  const lines: string[] = [];
  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;
  const aRun = runs.find((r) => r.label.startsWith('(a)'));
  lines.push(
    `${f(total)} simulated touchpoints (${people.toLocaleString('en-US')} people, seed ${seed}, ${(bytes / total).toFixed(0)} B of Avro each), ${partitions} partitions, ` +
      `commit interval ${b.settings.commitIntervalMs} ms; RSS before the runs ${mb(baseRss)} (holds the encoded input)`,
  );
  lines.push('');
  lines.push('| run | touchpoints/s | seconds | raw offsets committed, touchpoints/s | vs (a) | peak RSS |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of runs) {
    const ratio = aRun && r !== aRun ? (r.rate / aRun.rate).toFixed(2) : '';
    lines.push(`| ${r.label} | ${f(r.rate)} | ${r.seconds.toFixed(1)} | ${f(r.rawRate)} | ${ratio} | ${mb(r.peakRss)} |`);
  }
  const notes = runs.filter((r) => r.breakdown);
  if (notes.length > 0) {
    lines.push('');
    lines.push('Engine time (sums over tasks, which run concurrently): ');
    for (const r of notes) lines.push(`- ${r.label}: ${r.breakdown}`);
  }
  if (latency) {
    const c = [...latency.commands].sort((x, y) => x - y);
    const all = [...latency.commands, ...latency.decisions].sort((x, y) => x - y);
    lines.push('');
    lines.push(
      `(d) latency, exactly-once, fed at ${f(latency.rate)} touchpoints/s for ${latency.seconds.toFixed(0)} s (${f(latency.sent)} touchpoints), peak RSS ${mb(latency.peakRss)}: ` +
        'produce request sent -> record readable (read_committed), for outputs caused directly by a touchpoint',
    );
    lines.push('');
    lines.push('| output | n | p50 ms | p99 ms | max ms |');
    lines.push('| --- | ---: | ---: | ---: | ---: |');
    lines.push(`| commands | ${c.length} | ${f(quantile(c, 0.5))} | ${f(quantile(c, 0.99))} | ${f(c[c.length - 1] ?? NaN)} |`);
    lines.push(`| commands + decisions | ${all.length} | ${f(quantile(all, 0.5))} | ${f(quantile(all, 0.99))} | ${f(all[all.length - 1] ?? NaN)} |`);
  }
  const table = lines.join('\n');
  console.log(`\n${table}`);
  if (results) {
    appendResults('End to end: simulated touchpoints through the whole engine (bench/e2e.ts)', `npm run bench:e2e -- ${process.argv.slice(2).join(' ')}`.trim(), table);
    console.error('appended to bench/RESULTS.md');
  }

  if (!keep) {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`e2e-${stamp}-`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 60_000 }).catch((error: unknown) => console.error(`could not delete topics: ${String(error)}`));
    await Promise.all(stateDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
  await admin.disconnect();
}

// If a step waits on a promise that can never settle, Node would exit 0 silently when its event loop empties.
process.on('beforeExit', () => {
  console.error('error: the event loop emptied while a step was still waiting (a promise that never settles)');
  process.exit(2);
});

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
