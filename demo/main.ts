/**
 * npm run demo [-- --people 10000 --rate 3000 --seed 1 --duration 60]
 *
 * The product on a fresh machine: the local stack (started if needed), this
 * run's topics and schemas, the engine in process, a simulated population
 * producing touchpoints and answering the engine's commands, and a live
 * summary counted from what the engine wrote. demo/README.md explains the
 * choices (one topic prefix per run, what is counted where).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from '../runtime/kafka/kafkajs/client';
import pino, { type Logger } from 'pino';
import { assemble, provisionTopics, runEngine, type App } from '../cli/app';
import { up } from '../local-stack/stack';
import { IdentifierHasher, identitySecret } from '../processors/identity/identifiers';
import type { Touchpoint } from '../processors/model/touchpoint';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { createPopulation, type Population } from '../simulator/population';
import { TouchpointGenerator } from '../simulator/generator';
import { OutcomeResponder, parseEventId } from '../simulator/responder';
import { groundTruth, writeGroundTruth } from '../simulator/truth';
import { SCHEMAS_DIR, topicNames, type ProductConfig } from '../topology';
import { parseDuration } from '../config/duration';
import { identityAccuracy, liftAgainstTruth, readIdentityGraph, type IdentityAccuracy, type LiftAgainstTruth } from './accuracy';
import { Feed } from './feed';
import { eventually } from '../runtime/retry';
import { committedTotal, type TopicFollower } from '../runtime/kafka/kafkajs/topic-follower';
import { outputObserver, responderLoop } from './observer';
import { usageFailure } from '../cli/args';
import { parseDemoArgs, USAGE, type DemoOptions } from './options';
import { PipelineWatch, rawProcessed } from './pipeline';
import { appendResults } from './results';
import { renderAccuracy, renderFinal, renderStatus, type DemoStatus, type FinalReport } from './screen';
import { Tally } from './tally';

type Running = Awaited<ReturnType<typeof runEngine>>;

const say = (line: string) => process.stderr.write(`${line}\n`);

/** `demo-20250611-101500-3fa9`: sortable, unique per run, a valid app id and topic prefix. */
function newRunId(): string {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `demo-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Runs the engine on the configured port; if that port is taken and none was asked for, on a free one. */
async function startEngine(app: App, log: Logger, portAsked: boolean): Promise<Running> {
  try {
    return await runEngine(app, log);
  } catch (error) {
    if (portAsked || !/cannot listen/.test((error as Error).message)) throw error;
    say(`port ${app.settings.http.port} is taken: the engine's HTTP endpoints use a free port instead (set LP_HTTP_PORT to choose)`);
    app.settings.http.port = 0;
    return runEngine(app, log);
  }
}

/** A person's identifier the profile API can be asked about: e-mail, else customer id, else phone (as the channel would send it). */
function exampleIdentifier(population: Population, causeEventIds: readonly string[]): { type: string; value: string } | null {
  for (let i = causeEventIds.length - 1; i >= 0; i--) {
    const parsed = parseEventId(causeEventIds[i]!);
    if (!parsed || parsed.tag !== population.tag) continue;
    const person = population.persons[parsed.person];
    for (const slot of [person?.email, person?.customerId, person?.phone]) if (slot?.used) return { type: slot.type, value: slot.value };
  }
  return null;
}

class Rates {
  private readonly samples: { at: number; produced: number; processed: number; clock: number }[] = [];

  add(sample: { at: number; produced: number; processed: number; clock: number }): { produced: number; processed: number; speed: number | null } {
    this.samples.push(sample);
    while (this.samples.length > 2 && sample.at - this.samples[0]!.at > 5_000) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (sample.at - first.at) / 1000;
    if (seconds <= 0) return { produced: 0, processed: 0, speed: null };
    return {
      produced: (sample.produced - first.produced) / seconds,
      processed: (sample.processed - first.processed) / seconds,
      speed: sample.clock > first.clock ? (sample.clock - first.clock) / (sample.at - first.at) : null,
    };
  }
}

async function deleteRunTopics(admin: Admin, runId: string, prefix: string): Promise<number> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix) || t.startsWith(`${runId}-`));
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  return topics.length;
}

export async function main(argv: string[]): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoArgs(argv, process.stdout.isTTY === true);
  } catch (error) {
    return usageFailure(error, USAGE);
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  // Ctrl-C once: stop cleanly (drain, final summary); twice: skip the drain; three times: quit at once.
  // One Ctrl-C can arrive several times at once (the terminal signals the whole process group, and
  // npm and tsx relay it too): signals within a second of the last one count once.
  let interrupts = 0;
  let lastSignal = 0;
  let wake: () => void = () => undefined;
  const onSignal = () => {
    if (Date.now() - lastSignal < 1000) return;
    lastSignal = Date.now();
    interrupts++;
    if (interrupts >= 3) {
      process.stderr.write('\nquitting now\n');
      process.exit(130);
    }
    if (interrupts === 2) process.stderr.write('\nskipping the drain: stopping the engine now (Ctrl-C again to quit at once)\n');
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  say('local stack: checking Kafka and the schema registry (npm run stack:status)');
  const started = await up((line) => say(`  ${line}`));
  if (started.length > 0) say(`local stack: started ${started.join(' and ')} (it stays up; npm run stack:down stops it)`);

  const runId = newRunId();
  const prefix = `${runId}.`;
  const topics = topicNames(prefix);
  const stateDir = await mkdtemp(join(tmpdir(), 'lp-demo-'));
  const logFile = join(tmpdir(), `${runId}.log`);
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination({ dest: logFile, mkdir: true }));
  const token = process.env.LP_PROFILE_API_TOKEN || randomBytes(12).toString('base64url');
  const env = { ...process.env, LP_APP_ID: runId, LP_TOPIC_PREFIX: prefix, LP_STATE_DIR: stateDir, LP_PROFILE_API_TOKEN: token };
  const app = assemble({ log, env, configDir: options.config ?? undefined });
  say(`run ${runId}: topics ${prefix}*, state ${stateDir}, engine log ${logFile}`);
  const report = await provisionTopics(app, { keepForever: true });
  say(`created ${report.created.length} topics, registered ${report.schemas.length} schemas`);

  const kafka = new Kafka({ clientId: `${runId}-demo`, ...app.kafka, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const catalog = SchemaCatalog.load(SCHEMAS_DIR);
  const serde = new AvroSerde<Touchpoint>(app.registry, catalog.type('Touchpoint'));
  await serde.init(topics.raw);

  const population = createPopulation({ seed: options.seed, people: options.people });
  const generator = new TouchpointGenerator(population, { days: options.days });
  const responder = new OutcomeResponder(population);
  const tally = new Tally();

  const running = await startEngine(app, log, Boolean(process.env.LP_HTTP_PORT));
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const observer = outputObserver(kafka, `${runId}-observer`, topics, app.registry, catalog, tally);
  const answering: TopicFollower = responderLoop(kafka, `${runId}-responder`, topics, app.registry, catalog, responder, generator);
  await Promise.all([observer.start(), answering.start()]);
  const aheadMs = options.ahead === 'rules' ? pacingFromRules(app.config) : options.ahead === 'off' ? null : options.ahead;
  const feed = new Feed(generator, producer, serde, topics.raw, options.rate, { aheadMs, processed: () => rawProcessed(running.engine, topics) });
  const startedAt = Date.now();
  feed.start();

  const screen = { redraws: options.plain === false, lastPrinted: 0 };
  const rates = new Rates();
  let example: DemoStatus['look']['example'] = null;
  let phase: DemoStatus['phase'] = 'running';
  let processed = 0;
  const status = async (): Promise<DemoStatus> => {
    processed = await committedTotal(admin, runId, topics.raw).catch(() => processed);
    await feed.measure();
    const now = Date.now();
    const r = rates.add({ at: now, produced: feed.sent, processed, clock: generator.clock });
    const readiness = running.engine.readiness();
    const deadLettered = (await running.engine.metrics.deadLettered.get()).values.reduce((sum, v) => sum + v.value, 0);
    const forwarded = (await running.engine.metrics.domainEvents.get()).values.find((v) => v.labels.processor === 'profile' && v.labels.event === 'rerouted')?.value ?? 0;
    if (example === null && tally.lastCommand) {
      const id = exampleIdentifier(population, tally.lastCommand.trace.causeEventIds);
      if (id) example = { ...id, profileId: tally.lastCommand.profileId };
    }
    if (phase === 'running' && feed.drained) phase = 'period complete';
    return {
      runId,
      topicPrefix: prefix,
      seed: options.seed,
      people: options.people,
      rate: Number.isFinite(options.rate) ? options.rate : null,
      days: options.days,
      phase,
      wallSeconds: (now - startedAt) / 1000,
      simulated: { start: generator.start, end: generator.end, clock: generator.clock, speed: r.speed, aheadMs, sentUntil: feed.sentUntil, processedUntil: feed.processedUntil },
      engine: { ready: readiness.ready, tasks: readiness.detail.tasks, restoring: readiness.detail.restoring.length },
      touchpoints: { produced: feed.sent, processed, producedPerSecond: r.produced, processedPerSecond: r.processed, deadLettered, forwarded },
      outputs: tally.snapshot(),
      responder: { ...responder.stats, outcomesProduced: generator.stats.injected },
      look: { url: running.url, token, example },
      logFile,
    };
  };
  const show = async (): Promise<DemoStatus> => {
    const s = await status();
    if (screen.redraws) process.stdout.write(`\x1b[H\x1b[J${renderStatus(s)}\n\n${footer(s.phase)}\n`);
    else if (Date.now() - screen.lastPrinted >= options.everyMs) {
      screen.lastPrinted = Date.now();
      process.stdout.write(`${renderStatus(s)}\n\n`);
    }
    return s;
  };

  // Run until Ctrl-C, --duration, or a failure.
  let failure: Error | undefined;
  if (screen.redraws) process.stdout.write('\x1b[2J');
  while (interrupts === 0) {
    const deadline = options.durationMs === null ? Infinity : startedAt + options.durationMs;
    if (Date.now() >= deadline) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, Math.min(1000, deadline - Date.now()));
    });
    try {
      feed.check();
      if (!running.engine.healthy().healthy) throw new Error(`the engine stopped working: see ${logFile}`);
      await show();
    } catch (error) {
      failure = error as Error;
      break;
    }
  }

  // Stop the simulated channels, let the engine finish what it was sent, then stop it.
  phase = 'draining';
  await feed.stop().catch((error: unknown) => (failure ??= error as Error));
  await answering.stop();
  let drained = false;
  let identityComplete = false;
  if (!failure) {
    const watch = new PipelineWatch(admin, running.engine, runId, topics, 3 * app.settings.commitIntervalMs + 200);
    let waiting = '';
    try {
      await eventually(
        async () => {
          const settled = await watch.poll(feed.sent);
          waiting = settled.waiting;
          identityComplete = settled.identityDone;
          drained = settled.done;
          await show();
          return drained || interrupts >= 2;
        },
        'the engine to process every touchpoint sent',
        options.drainMs,
        500,
      );
    } catch (error) {
      say(`\n${(error as Error).message} (still waiting for ${waiting}): the final numbers cover what was processed so far`);
    }
    // The summary reads the outputs to their end (if the engine still writes, it stops trying after a while).
    await eventually(async () => interrupts >= 2 || (await observer.caughtUp(admin)), 'the summary to read every output', drained ? 30_000 : 5_000, 200).catch(() => false);
  }
  phase = 'stopped';
  const final = await status();
  await running.stop();
  await observer.stop();
  await producer.disconnect();

  // The engine against the simulator's ground truth.
  let identity: IdentityAccuracy | null = null;
  const truth = groundTruth(population, generator);
  if (identityComplete) {
    const graph = await readIdentityGraph(kafka, admin, runId, `${runId}-accuracy`);
    identity = identityAccuracy(truth, graph, new IdentifierHasher(app.config.identity, identitySecret(app.config.identity, env)));
  }
  const lift: LiftAgainstTruth[] = liftAgainstTruth(final.outputs.lift, truth);
  const finalReport: FinalReport = { status: final, identity, lift, truthFile: options.truth };
  if (screen.redraws) process.stdout.write('\x1b[H\x1b[J');
  process.stdout.write(`${renderFinal(finalReport)}\n`);

  if (options.truth) writeGroundTruth(options.truth, truth);
  if (options.summaryJson) await writeFile(options.summaryJson, `${JSON.stringify(finalReport, null, 2)}\n`);
  if (options.results) {
    const command = `npm run demo -- ${argv.join(' ')}`.trim();
    appendResults('Demo: identity accuracy and lift against the ground truth', command, resultsBody(finalReport));
    say('appended identity accuracy and lift to bench/RESULTS.md');
  }

  if (options.keep) say(`kept: topics ${prefix}* and ${runId}-*, state ${stateDir}`);
  else {
    const deleted = await deleteRunTopics(admin, runId, prefix).catch((error: unknown) => {
      say(`could not delete this run's topics (${(error as Error).message}); delete ${prefix}* and ${runId}-* by hand`);
      return 0;
    });
    await admin.deleteGroups([runId, `${runId}-observer`, `${runId}-responder`, `${runId}-accuracy`]).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
    say(`cleaned up: ${deleted} topics of this run and its state (--keep keeps them)`);
  }
  await admin.disconnect();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (failure) {
    say(`error: ${failure.message}`);
    return 1;
  }
  return 0;
}

function footer(phase: DemoStatus['phase']): string {
  if (phase === 'period complete') return 'The simulated period is over; the engine keeps serving (try the curl above). Ctrl-C stops it and prints the final summary.';
  if (phase === 'draining' || phase === 'stopped') return 'Stopping: the engine finishes what was sent, then commits and leaves the group (Ctrl-C again skips the wait).';
  return 'Ctrl-C stops: the simulator, the responder, then the engine (commit, leave the group); a final summary follows.';
}

function resultsBody(report: FinalReport): string {
  const s = report.status;
  const t = s.touchpoints;
  return [
    `${s.people.toLocaleString('en-US')} people, seed ${s.seed}, ${s.rate === null ? 'max rate' : `${s.rate}/s`}; ran ${Math.round(s.wallSeconds)} s of wall time, ` +
      `simulated ${new Date(s.simulated.start).toISOString().slice(0, 10)} to ${new Date(s.simulated.clock).toISOString().slice(0, 16)}Z; ` +
      `${t.produced.toLocaleString('en-US')} touchpoints produced, ${t.processed.toLocaleString('en-US')} processed; ` +
      `${s.outputs.commands.toLocaleString('en-US')} commands, ${s.outputs.decisions.toLocaleString('en-US')} decisions without a command.`,
    '',
    '```',
    ...renderAccuracy(report),
    '```',
  ].join('\n');
}

if (require.main === module) {
  // A step waiting on a promise that can never settle would otherwise end the process with 0, silently.
  process.on('beforeExit', () => {
    process.stderr.write('\nerror: the demo stopped making progress (a step waited on something that can never happen)\n');
    process.exit(1);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`\nerror: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Half the shortest maxDelay of the enabled rules: a touchpoint on the
 * longer path through identity resolution then reaches its profile at
 * most that much event time after the profile's other touchpoints, and no
 * firing is stale because the demo ran ahead.
 */
function pacingFromRules(config: ProductConfig): number {
  const { defaults, triggers } = config.triggers;
  const delays = triggers.filter((t) => t.enabled !== false).map((t) => parseDuration(t.engage.maxDelay ?? defaults.maxDelay));
  return Math.floor(Math.min(parseDuration(defaults.maxDelay), ...delays) / 2);
}
