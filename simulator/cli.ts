/**
 * simulate: produce a simulated population's touchpoints to Kafka (Avro,
 * through the schema registry), optionally answering the engine's
 * engagement commands, and write the ground truth.
 *
 *   tsx simulator/cli.ts --seed 42 --people 10000 --days 30 --rate 5000 --truth truth.json --respond
 *
 * `--help` lists every option. Ctrl-C stops cleanly: the batch in flight
 * is sent, the truth (up to the last touchpoint sent) is written, clients
 * disconnect; a second Ctrl-C exits at once.
 */
import { join } from 'node:path';
import type * as avro from 'avsc';
import { Kafka, logLevel, Partitioners, type Consumer, type Message, type Producer } from '../runtime/kafka/kafkajs/client';
import { createPlainTopics } from '../runtime/kafka/kafkajs/topics';
import { flag, parseOptions, positive, rate, seconds, text, usage, usageFailure, whole } from '../cli/args';
import { formatRate, ProgressBar } from '../cli/progress';
import { formatDuration } from '../config/duration';
import { stackEndpoints } from '../local-stack/settings';
import type { Touchpoint } from '../processors/model/touchpoint';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { ConfluentRegistry, registryAuth } from '../runtime/serde/registry';
import { kafkaConnection } from '../runtime/kafka/connection';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { DEFAULT_PERSONAS_FILE, loadSimulatorConfig } from './config';
import { TouchpointGenerator } from './generator';
import { createPopulation, type Population } from './population';
import { OutcomeResponder, type CommandLike, type DecisionLike } from './responder';
import { MALFORMED_ATTRIBUTE } from './sessions';
import { groundTruth, writeGroundTruth } from './truth';

const SCHEMAS_DIR = join(__dirname, '..', 'schemas');

const OPTIONS = {
  seed: whole('N', 'population and behaviour seed', 1, 0),
  people: whole('N', 'simulated people', 10_000, 1),
  days: positive('N', "simulated period in days from the personas file's epoch", 30),
  rate: rate('touchpoints per second, or max', Infinity),
  topic: text('NAME', 'topic to produce to', 'touchpoints.raw'),
  truth: text('FILE', 'write the ground truth (people <-> identifiers, true uplift) here at the end'),
  respond: flag('answer engagement commands and held-out decisions read from the broker'),
  'commands-topic': text('T', 'with --respond: the commands to answer', 'engagement.commands'),
  'decisions-topic': text('T', 'with --respond: the held-out decisions to answer', 'engagement.decisions'),
  linger: seconds('with --respond: keep answering this long after the last command once\nthe period is generated', 20),
  group: text('ID', 'consumer group of the responder (default listening-post-simulator-<seed tag>)'),
  brokers: text('LIST', 'comma-separated (default from local-stack/settings.ts: LP_KAFKA_BROKERS)'),
  registry: text('URL', 'schema registry (default from local-stack/settings.ts: LP_REGISTRY_URL)'),
  personas: { ...text('FILE', 'personas file', DEFAULT_PERSONAS_FILE), shownDefault: 'simulator/personas.yaml' },
  batch: whole('N', 'touchpoints per produce request', 2000, 1),
  'in-flight': whole('N', 'produce requests in flight at once; 1 keeps the order of\nrecords even when a request is retried', 1, 1),
  'create-topic': flag('create the topic if it is missing (with --partitions)'),
  partitions: whole('N', 'with --create-topic', 4, 1),
  'dry-run': flag('generate and Avro-encode without a broker: measures the generator'),
  quiet: flag('no progress bar'),
};

export const USAGE = usage('usage: simulate [options]\n', OPTIONS);

export interface CliOptions {
  seed: number;
  people: number;
  days: number;
  /** Touchpoints per second; Infinity for max. */
  rate: number;
  topic: string;
  truth: string | null;
  respond: boolean;
  commandsTopic: string;
  decisionsTopic: string;
  lingerMs: number;
  group: string | null;
  brokers: string[];
  registry: string;
  personas: string;
  batch: number;
  inFlight: number;
  createTopic: boolean;
  partitions: number;
  dryRun: boolean;
  quiet: boolean;
  help: boolean;
}


/** Parses and checks the command line; throws UsageError naming the bad option. */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions {
  const v = parseOptions(OPTIONS, argv);
  const endpoints = stackEndpoints(env);
  return {
    seed: v.seed,
    people: v.people,
    days: v.days,
    rate: v.rate,
    topic: v.topic,
    truth: v.truth ?? null,
    respond: v.respond,
    commandsTopic: v['commands-topic'],
    decisionsTopic: v['decisions-topic'],
    lingerMs: v.linger,
    group: v.group ?? null,
    brokers: v.brokers ? v.brokers.split(',').map((b) => b.trim()).filter(Boolean) : endpoints.brokers,
    registry: v.registry ?? endpoints.registryUrl,
    personas: v.personas,
    batch: v.batch,
    inFlight: v['in-flight'],
    createTopic: v['create-topic'],
    partitions: v.partitions,
    dryRun: v['dry-run'],
    quiet: v.quiet,
    help: v.help,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Run {
  options: CliOptions;
  population: Population;
  generator: TouchpointGenerator;
  responder: OutcomeResponder | null;
  stopping: boolean;
  sent: number;
  lastAnswerAt: number;
}

export async function main(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    return usageFailure(error, USAGE);
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadSimulatorConfig(options.personas);
  const population = createPopulation({ seed: options.seed, people: options.people, config });
  const generator = new TouchpointGenerator(population, { days: options.days });
  const run: Run = { options, population, generator, responder: null, stopping: false, sent: 0, lastAnswerAt: performance.now() };
  const onSignal = () => {
    if (run.stopping) {
      process.stderr.write('\nstopping now\n');
      process.exit(130);
    }
    run.stopping = true;
    process.stderr.write('\nstopping: sending the batch in flight (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const catalog = SchemaCatalog.load(SCHEMAS_DIR);
  const started = performance.now();
  try {
    if (options.dryRun) await dryRun(run, catalog.type('Touchpoint'));
    else await produce(run, catalog);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const seconds = (performance.now() - started) / 1000;
  const s = generator.stats;
  process.stderr.write(
    `${run.stopping ? 'stopped' : 'done'}: ${run.sent.toLocaleString('en-US')} touchpoints (${s.touchpoints.toLocaleString('en-US')} behaviour, ${s.injected.toLocaleString('en-US')} outcomes) ` +
      `from ${population.size.toLocaleString('en-US')} people, ${s.sessions.toLocaleString('en-US')} visits, in ${formatDuration(Math.round(seconds * 1000))} (${formatRate(run.sent / Math.max(seconds, 1e-3))}/s)\n`,
  );
  if (run.responder) {
    const r = run.responder.stats;
    process.stderr.write(
      `responder: ${r.commands} commands (${r.converted} converted, ${r.dismissed} dismissed), ${r.decisions} held-out decisions (${r.controlConverted} converted), ` +
        `${r.unknownPerson} not ours, ${r.duplicates} duplicates, answers up to ${formatDuration(Math.round(r.maxLateMs))} behind the simulated clock\n`,
    );
  }
  if (options.truth) {
    writeGroundTruth(options.truth, groundTruth(population, generator));
    process.stderr.write(`ground truth: ${options.truth}\n`);
  }
  return run.stopping ? 130 : 0;
}

function progressDetail(run: Run): string {
  const when = new Date(run.generator.clock).toISOString().slice(0, 16).replace('T', ' ');
  const outcomes = run.generator.stats.injected;
  return `sim ${when}${run.responder ? `  outcomes ${outcomes.toLocaleString('en-US')}` : ''}`;
}

/** Generation and Avro encoding only, as fast as possible. */
async function dryRun(run: Run, type: avro.Type): Promise<void> {
  const bar = run.options.quiet ? null : new ProgressBar({ unit: 'touchpoints' });
  const { generator } = run;
  let bytes = 0;
  while (!run.stopping) {
    let n = 0;
    for (let t = generator.take(); t !== undefined; t = generator.take()) {
      bytes += type.toBuffer(t).length;
      if (++n === 20_000) break;
    }
    run.sent += n;
    bar?.update({ fraction: generator.progress(), count: run.sent, detail: progressDetail(run) });
    if (n < 20_000) break;
    await yieldToIo(); // let Ctrl-C in
  }
  bar?.finish({ fraction: generator.done ? 1 : generator.progress(), count: run.sent, detail: `${(bytes / 1e6).toFixed(1)} MB of Avro` });
}

async function produce(run: Run, catalog: SchemaCatalog): Promise<void> {
  const { options, population } = run;
  const registry = new ConfluentRegistry(options.registry, registryAuth(process.env));
  const serde = new AvroSerde<Touchpoint>(registry, catalog.type('Touchpoint'));
  await serde.init(options.topic);
  const kafka = new Kafka({ clientId: 'listening-post-simulator', ...kafkaConnection(options.brokers, process.env), logLevel: logLevel.NOTHING });
  await ensureTopic(kafka, options);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let consumer: Consumer | null = null;
  try {
    if (options.respond) {
      run.responder = new OutcomeResponder(population);
      consumer = await startResponder(run, kafka, registry, catalog);
    }
    await sendAll(run, producer, serde);
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
}

async function ensureTopic(kafka: Kafka, options: CliOptions): Promise<void> {
  const admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`cannot reach Kafka at ${options.brokers.join(',')} (${(error as Error).message}): is the stack up? (npm run stack:up)`);
  });
  try {
    const topics = new Set(await admin.listTopics());
    const missing = options.respond ? [options.commandsTopic, options.decisionsTopic].filter((t) => !topics.has(t)) : [];
    if (missing.length > 0) throw new Error(`--respond reads ${missing.join(' and ')}, which do not exist: create the product's topics (npm run topics:create)`);
    if (topics.has(options.topic)) return;
    if (!options.createTopic) {
      throw new Error(`topic ${options.topic} does not exist: create the product's topics (npm run topics:create) or pass --create-topic`);
    }
    await createPlainTopics(admin, [options.topic], options.partitions);
    process.stderr.write(`created topic ${options.topic} (${options.partitions} partitions)\n`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Generates and sends in batches, with up to --in-flight requests in
 * flight while the next batch is generated. At a target rate, batches are small (about 20
 * a second) and the loop sleeps when it is ahead.
 */
async function sendAll(run: Run, producer: Producer, serde: AvroSerde<Touchpoint>): Promise<void> {
  const { options, generator } = run;
  const bar = options.quiet ? null : new ProgressBar({ unit: 'touchpoints' });
  const batchSize = Number.isFinite(options.rate) ? Math.max(1, Math.min(options.batch, Math.ceil(options.rate / 20))) : options.batch;
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  let lingering = false;
  while (!run.stopping) {
    const messages: Message[] = [];
    for (let t = generator.take(); t !== undefined; t = generator.take()) {
      messages.push(toMessage(t, options.topic, serde));
      if (messages.length === batchSize) break;
    }
    if (messages.length > 0) {
      if (inFlight.length >= options.inFlight) await inFlight.shift();
      inFlight.push(producer.send({ topic: options.topic, messages, acks: -1 }));
      run.sent += messages.length;
      bar?.update({ fraction: generator.progress(), count: run.sent, detail: progressDetail(run) });
    }
    if (Number.isFinite(options.rate)) {
      const ahead = (run.sent / options.rate) * 1000 - (performance.now() - started);
      if (ahead > 0) await sleep(ahead);
    }
    if (messages.length < batchSize) {
      // The period is generated. With --respond, keep answering until the engine has gone quiet.
      if (!run.responder || performance.now() - run.lastAnswerAt > options.lingerMs) break;
      if (!lingering) {
        lingering = true;
        run.lastAnswerAt = Math.max(run.lastAnswerAt, performance.now());
        bar?.finish({ fraction: 1, count: run.sent, detail: progressDetail(run) });
        process.stderr.write(`period generated; answering engagement until ${options.lingerMs / 1000}s pass without a command (Ctrl-C to stop)\n`);
      }
      await sleep(100);
    } else await yieldToIo(); // let the responder's consumer and Ctrl-C in
  }
  await Promise.all(inFlight);
  if (!lingering) bar?.finish({ fraction: generator.done ? 1 : generator.progress(), count: run.sent, detail: progressDetail(run) });
}

function toMessage(t: Touchpoint, topic: string, serde: AvroSerde<Touchpoint>): Message {
  const key = t.identifiers.length > 0 ? t.identifiers[0]!.value : null;
  // A malformed record meant for the dead-letter path: bytes that are not Avro.
  if (t.attributes[MALFORMED_ATTRIBUTE] === 'undecodable') return { key, value: Buffer.from(JSON.stringify(t)) };
  return { key, value: serde.serialize(topic, t) };
}

/** Reads commands and decisions, answers them, and injects the outcomes into the generator's stream. */
async function startResponder(run: Run, kafka: Kafka, registry: ConfluentRegistry, catalog: SchemaCatalog): Promise<Consumer> {
  const { options, generator, population } = run;
  const responder = run.responder!;
  const commands = new AvroSerde<CommandLike>(registry, catalog.type('EngagementCommand'));
  const decisions = new AvroSerde<DecisionLike>(registry, catalog.type('EngagementDecision'));
  const consumer = kafka.consumer({ groupId: options.group ?? `listening-post-simulator-${population.tag}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [options.commandsTopic, options.decisionsTopic], fromBeginning: true });
  let undecodable = 0;
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const isCommand = batch.topic === options.commandsTopic;
      const serde = isCommand ? commands : decisions;
      await serde.prepare(batch.topic, batch.messages.map((m) => m.value));
      for (const message of batch.messages) {
        if (!message.value) continue;
        try {
          const value = serde.deserialize(batch.topic, message.value);
          const outcomes = isCommand
            ? responder.respondToCommand(value as CommandLike, generator.clock)
            : responder.respondToDecision(value as DecisionLike, generator.clock);
          generator.inject(outcomes);
        } catch (error) {
          if (undecodable++ === 0) process.stderr.write(`\nresponder: skipping a record of ${batch.topic} that does not decode: ${(error as Error).message}\n`);
        }
      }
      run.lastAnswerAt = performance.now();
    },
  });
  return consumer;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`\nerror: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
