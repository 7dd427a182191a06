/**
 * npm run replay -- (--from ISO --to ISO [--topic T] | --input FILE) [--rules DIR] [--baseline DIR] [--out DIR] [...]
 *
 * Replays recorded touchpoints through the product topology with the
 * baseline rules and (with --rules) a variant, on the in-process driver,
 * isolated from production, and writes report.json and report.html.
 * `--help` lists every option. Ctrl-C stops cleanly with a partial
 * report; a second Ctrl-C quits at once.
 */
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from '../runtime/kafka/kafkajs/client';
import { loadEngineSettings } from '../config/engine';
import { stackEndpoints } from '../local-stack/settings';
import { ConfluentRegistry, registryAuth } from '../runtime/serde/registry';
import { kafkaConnection } from '../runtime/kafka/connection';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { ListeningPostError } from '../runtime/errors';
import { buildTopology, SCHEMAS_DIR, topicNames } from '../topology';
import { fileSource, KafkaOutputSink, loadRuleSet, ReplayInputError, runReplay, TopicRangeSource, writeReport, type ReplayProgress, type VariantOptions } from '../replay';
import { checkPrefix } from '../replay/kafka-output';
import { ProgressBar, type ProgressSample } from './progress';
import { custom, duration, durationOption, flag, parseOptions, text, usage, UsageError, whole, type Option } from './args';

const ROOT = join(__dirname, '..');

/** An ISO-8601 time in epoch ms. */
function time(help: string): Option<number | undefined> {
  return custom('ISO', help, (text, name) => {
    if (text === undefined) return undefined;
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw new UsageError(`--${name} ${text}: not an ISO-8601 time (e.g. 2026-10-01T00:00:00Z)`);
    return t;
  });
}

const OPTIONS = {
  from: { ...time('a time range of a live topic: on every partition, the records with a\nKafka timestamp in [from, to), read outside any consumer group'), section: 'input (one of)' },
  to: time('the end of that range'),
  topic: text('NAME', 'the topic of the range (default touchpoints.raw)'),
  input: text('FILE', 'a file instead: .ndjson (one Touchpoint per line) or .avro (container file)'),
  rules: { ...text('DIR', "the variant's rule files; files it lacks are the baseline's"), section: 'rules' },
  baseline: text('DIR', 'the baseline rules (default config/)'),
  out: { ...text('DIR', 'where report.json and report.html go (default reports/replay-<time>)'), section: 'output' },
  'output-prefix': text('P', "also write the variant's outputs to Kafka topics P<topic>, created if missing\n(the variant is the baseline when there is no --rules)"),
  warmup: {
    ...duration('topic ranges: start this long before --from so state (cooldowns, caps,\nsegments) is warm; outputs before --from are not counted (e.g. 30d)'),
    section: 'replay',
  },
  settle: duration('at the end, move event time this far past the last touchpoint so timers due\nby then fire (default 0: stop where the input stops, as a live engine would)'),
  batch: whole('N', 'most touchpoints per driver run (default 1000)', undefined, 1),
  tick: custom(
    'DURATION',
    'most (Kafka timestamp) time per driver run (default 1s; 0: no limit): the\nprofile task may see two partitions\' records this far apart out of order,\nas live does; links reach the identity graph between runs',
    (text, name) => (text === undefined ? undefined : text === '0' ? 0 : durationOption(name, text)),
  ),
  partitions: whole('N', 'partitions of the replayed topology for a file input (default: config/engine.yaml);\na topic range always uses the topic\'s own', undefined, 1),
  'state-dir': text('DIR', "the replay's own state (default state/replay-<time>), removed afterwards"),
  'keep-state': flag('keep it'),
  memory: flag('state in memory instead of RocksDB (short replays only)'),
  'check-values': flag(
    "the test driver's checks: store values and forwarded records frozen (a\nprocessor that changes a value it does not own fails its record), and\nevery stored value must read back from its bytes unchanged (slower)",
  ),
  brokers: { ...text('LIST', 'default LP_KAFKA_BROKERS or the local stack'), section: 'connection (topic ranges and --output-prefix)' },
  registry: text('URL', 'default LP_REGISTRY_URL or the local stack'),
  quiet: { ...flag('no progress bar'), section: '' },
};

export const USAGE = usage(
  'usage: npm run replay -- (--from ISO --to ISO [--topic T] | --input FILE) [options]',
  OPTIONS,
  `Durations: 500ms, 45s, 30m, 2h, 7d. Run with the production LP_IDENTITY_SECRET to get
the production's profile and command ids.
`,
);

/** The bar shows the event time reached, so a user can tell how far into the input the replay is. */
function progressSample(p: ReplayProgress): ProgressSample {
  const at = p.eventTime === null ? undefined : `at ${new Date(p.eventTime).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return { fraction: p.fraction, count: p.records, total: p.total ?? undefined, detail: at };
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
}

async function main(argv: string[]): Promise<number> {
  const values = parseOptions(OPTIONS, argv);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const byTopic = values.from !== undefined || values.to !== undefined;
  if (byTopic === (values.input !== undefined)) throw new UsageError('give either --from and --to (a topic range) or --input FILE');
  if (byTopic && (values.from === undefined || values.to === undefined)) throw new UsageError('a topic range needs both --from and --to');
  if (!byTopic && (values.topic !== undefined || values.warmup !== undefined)) throw new UsageError('--topic and --warmup select a topic range: use them with --from and --to, not --input');

  const endpoints = stackEndpoints();
  const brokers = values.brokers?.split(',') ?? endpoints.brokers;
  const registryUrl = values.registry ?? endpoints.registryUrl;
  const stampNow = stamp();
  const outDir = resolve(values.out ?? join('reports', `replay-${stampNow}`));
  const stateDir = resolve(values['state-dir'] ?? join('state', `replay-${stampNow}`));
  const partitions = values.partitions ?? loadEngineSettings(join(ROOT, 'config', 'engine.yaml')).partitions;
  const outputPrefix = values['output-prefix'];
  if (outputPrefix !== undefined) {
    try {
      checkPrefix(outputPrefix);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }

  const baselineDir = resolve(values.baseline ?? join(ROOT, 'config'));
  const variants: VariantOptions[] = [{ name: 'baseline', rules: loadRuleSet('baseline', baselineDir) }];
  if (values.rules !== undefined) variants.push({ name: 'variant', rules: loadRuleSet('variant', values.rules, baselineDir) });

  const needsKafka = byTopic || outputPrefix !== undefined;
  const kafka = needsKafka ? new Kafka({ clientId: 'listening-post-replay', ...kafkaConnection(brokers, process.env), logLevel: logLevel.NOTHING }) : undefined;
  const registry = needsKafka ? new ConfluentRegistry(registryUrl, registryAuth(process.env)) : undefined;

  let reportFrom: number | undefined;
  const source = byTopic
    ? (() => {
        const warmup = values.warmup ?? 0;
        if (warmup > 0) reportFrom = values.from;
        return new TopicRangeSource({ kafka: kafka!, registry: registry!, topic: values.topic ?? topicNames().raw, from: values.from! - warmup, to: values.to! });
      })()
    : fileSource(resolve(values.input!), partitions);

  const sinks: KafkaOutputSink[] = [];
  if (outputPrefix !== undefined) {
    const target = variants[variants.length - 1]!;
    if (byTopic) await source.open();
    const topicPartitions = source.partitions ?? partitions;
    const topology = buildTopology({ appId: `${outputPrefix}replay`, partitions: topicPartitions, config: target.rules.config, registry: registry!, topicPrefix: outputPrefix });
    const sink = await KafkaOutputSink.create({ kafka: kafka!, topology, prefix: outputPrefix, registry: registry!, catalog: SchemaCatalog.load(SCHEMAS_DIR) });
    sinks.push(sink);
    Object.assign(target, { topicPrefix: outputPrefix, registry, sink });
  }

  let stopping = false;
  const progress = values.quiet ? undefined : new ProgressBar({ label: 'replay', unit: 'touchpoints' });
  const onSigint = (): void => {
    if (stopping) {
      process.stderr.write('\nstopped at once; no report written\n');
      process.exit(130);
    }
    stopping = true;
    (progress ?? { note: (t: string) => process.stderr.write(`${t}\n`) }).note('stopping: finishing the batch in hand, then writing a partial report (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  let last: ReplayProgress | undefined;
  try {
    const result = await runReplay({
      source,
      variants,
      partitions,
      stateDir,
      state: values.memory ? 'memory' : 'rocksdb',
      keepState: values['keep-state'] ?? false,
      checkValues: values['check-values'] ?? false,
      batch: values.batch,
      tickMs: values.tick,
      settleMs: values.settle ?? 0,
      reportFrom,
      stopped: () => stopping,
      onProgress: (p) => {
        last = p;
        progress?.update(progressSample(p));
      },
    });
    if (last) progress?.finish(progressSample(last));
    const files = await writeReport(outDir, result.report);
    const r = result.report;
    const line = (v: (typeof r.variants)[number]) => `${v.name}: ${v.totals.commands} commands, ${v.totals.suppressed} suppressed, ${v.totals.heldOut} held out`;
    process.stdout.write(`${result.complete ? 'replayed' : 'STOPPED EARLY, partial report:'} ${r.input.records} touchpoints (${r.run.touchpointsPerSecond}/s)\n`);
    for (const v of r.variants) process.stdout.write(`  ${line(v)}\n`);
    if (r.diff) process.stdout.write(`  variant vs baseline: ${r.diff.totals.lost} commands lost, ${r.diff.totals.gained} gained, ${r.diff.totals.changed} re-routed\n`);
    process.stdout.write(`report: ${files.html}\n        ${files.json}\n`);
    return result.complete ? 0 : 130;
  } finally {
    process.off('SIGINT', onSigint);
    for (const sink of sinks) await sink.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    // Rules, input and topology problems are the user's to fix: one clear line, no stack.
    console.error(error instanceof ListeningPostError || error instanceof ReplayInputError ? `error: ${error.message}` : error);
    process.exit(1);
  },
);
