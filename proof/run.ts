import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as avro from 'avsc';
import type { Logger } from 'pino';
import { assemble, provisionTopics, type App } from '../cli/app';
import { restart, up } from '../local-stack/stack';
import { stackEndpoints, stackSettings } from '../local-stack/settings';
import type { Touchpoint } from '../processors/model/touchpoint';
import { Kafka, logLevel } from '../runtime/kafka/kafkajs/client';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { ConfluentRegistry } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { buildTopology, SCHEMAS_DIR, topicNames } from '../topology';
import { checkExactlyOnce, noDeadLetters, noRepeats, type Finding } from './eos-oracle';
import { describeFault, planFaults, type Fault, type FaultCounts } from './faults';
import { Fleet } from './fleet';
import { goldenRun } from './golden';
import { readTopics, type LiveRecord } from './live';
import { compareOutputs, productOutputs, type OutputDiff, type ProductOutputs } from './outputs';
import { combineResults, piiNeedles, scanFiles, scanStateDir, scanTopics, topicsToScan, type Needle, type ScanResult } from './privacy';
import { TcpProxy } from './tcp-proxy';
import { COMMIT_INTERVAL_MS, committedCount, produce, rawMessages, settle, waitFor } from './pipeline';
import { workload, type WorkloadOptions } from './workload';

export interface ProofOptions {
  seed: number;
  workload: Omit<WorkloadOptions, 'seed'>;
  faults: FaultCounts;
  /** Logs, state directories and the report go here. */
  workDir: string;
  configDir: string;
  log: Logger;
  /** One line per step, for a person watching. */
  say(line: string): void;
}

/** What happened to one fault of the plan. */
export interface FaultRecord {
  fault: string;
  /** Raw offsets the group had committed when it struck. */
  committedAt: number;
  detail: string;
}

export interface ProofRun {
  seed: number;
  appId: string;
  touchpoints: number;
  faults: FaultRecord[];
  /** Exactly-once: every check must hold. */
  findings: Finding[];
  /** Golden (the driver on the workload) against live. */
  golden: OutputDiff[];
  /** What the golden run gave, and the live run. */
  outputs: { golden: ProductOutputs; live: ProductOutputs };
  /** Why decisions sent nothing, golden and live: where they differ is where live and replay part. */
  decisionOutcomes: { golden: Record<string, number>; live: Record<string, number> };
  /** The live run's records, by topic (for further checks). */
  live: Map<string, LiveRecord[]>;
  /** Raw emails, phones and customer ids of the simulated people found anywhere the run wrote (topics, RocksDB, logs). */
  privacy: ScanResult;
  stateDirs: string[];
  logFiles: string[];
  prefix: string;
  seconds: number;
}

const SESSION_TIMEOUT_MS = 6_000;
const TWO_INSTANCES = ['a', 'b'];

/**
 * One proof run on the real local stack: the seeded workload through two or
 * three engine processes while the planned faults strike, then every
 * exactly-once check (checkExactlyOnce) and the golden comparison.
 */
export async function runProof(options: ProofOptions): Promise<ProofRun> {
  const started = Date.now();
  const { say } = options;
  await up(say);
  const endpoints = stackEndpoints();
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
  const appId = `proof-${options.seed}-${stamp}-${process.pid}`;
  const prefix = `${appId}.`;
  const topics = topicNames(prefix);
  const work = workload({ seed: options.seed, ...options.workload });
  const plan = planFaults(options.seed, options.faults);
  say(`proof seed ${options.seed}: ${work.inputs.length} touchpoints of ${options.workload.people} people over ${options.workload.days} days, ${options.workload.partitions} partitions; app ${appId}`);
  for (const fault of plan) say(`  planned: ${describeFault(fault)}`);

  say('golden run: the workload through the product on the in-process driver');
  const golden = await goldenRun(
    work.inputs.map((i) => i.touchpoint),
    work.options.partitions,
    options.configDir,
    `simulator seed ${options.seed}`,
  );

  const registryPort = stackSettings().registryPort;
  const proxy = await new TcpProxy({ targetPort: registryPort }).start();
  const kafka = new Kafka({ clientId: appId, brokers: endpoints.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const app = assemble({ configDir: options.configDir, log: options.log, env: { ...process.env, LP_APP_ID: appId, LP_TOPIC_PREFIX: prefix, LP_PARTITIONS: String(work.options.partitions) } });
  await provisionTopics(app, { keepForever: true });
  const fleet = new Fleet({
    appId,
    topicPrefix: prefix,
    partitions: work.options.partitions,
    brokers: endpoints.brokers,
    registryUrl: proxy.urlFor(endpoints.registryUrl),
    stateRoot: join(options.workDir, 'state'),
    logDir: join(options.workDir, 'logs'),
    commitIntervalMs: COMMIT_INTERVAL_MS,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
  });
  await mkdir(options.workDir, { recursive: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const records: FaultRecord[] = [];
  try {
    const encoder = await inputEncoder(app, topics.raw);
    const total = work.inputs.length;
    const outage = plan.find((f): f is Extract<Fault, { kind: 'registry-outage' }> => f.kind === 'registry-outage');
    // The input arrives as the run goes: each fault strikes with a tenth of the input still to
    // process (so kills land inside batches and commits, not on idle engines), and the input stops
    // where a registry outage begins, since the records written during it carry a writer schema
    // no engine has seen yet.
    let produced = 0;
    let outageAt = outage ? Math.floor(outage.at * total) : undefined;
    const produceUpTo = async (wanted: number) => {
      const to = Math.min(wanted, total, outageAt ?? total);
      if (to <= produced) return;
      await produce(producer, topics.raw, rawMessages(work.inputs.slice(produced, to), encoder.v1));
      produced = to;
    };
    const lead = Math.ceil(total / 10);
    await produceUpTo((plan[0] ? Math.floor(plan[0].at * total) : total) + lead);
    for (const name of TWO_INSTANCES) await fleet.start(name);
    let instances = [...TWO_INSTANCES];
    let spare = 0;
    const committed = () => committedCount(admin, appId, topics.raw);

    for (const fault of plan) {
      const mark = Math.floor(fault.at * total);
      await produceUpTo(mark + lead);
      await waitFor(async () => (await committed()) >= Math.min(mark, produced - 1), `the group to commit ${mark} raw records (${describeFault(fault)})`, 600_000);
      if (fault.kind === 'kill') {
        await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        const victim = instances[fault.victim % instances.length]!;
        const at = await committed();
        await fleet.kill(victim);
        await fleet.start(victim, { freshState: fault.freshState });
        records.push({ fault: describeFault(fault), committedAt: at, detail: `killed ${victim} (pid gone), restarted it${fault.freshState ? ' on an empty state directory' : ''}` });
      } else if (fault.kind === 'broker-restart') {
        const at = await committed();
        const restarted = await restart('kafka');
        records.push({ fault: describeFault(fault), committedAt: at, detail: `broker stopped in ${restarted.stopMs} ms, ready again ${restarted.startMs} ms later` });
      } else if (fault.kind === 'rebalance') {
        const joiner = `c${++spare}`;
        const at = await committed();
        await fleet.start(joiner);
        const seen = await readinessTransitions(fleet, joiner);
        const leaver = instances[fault.leaver % instances.length]!;
        await fleet.stop(leaver);
        instances = [...instances.filter((i) => i !== leaver), joiner];
        records.push({ fault: describeFault(fault), committedAt: at, detail: `${joiner} joined (readiness: ${seen}); ${leaver} left with SIGTERM` });
      } else {
        const at = await committed();
        await proxy.pause();
        const end = Math.min(total, produced + Math.ceil(fault.share * total));
        await produce(producer, topics.raw, rawMessages(work.inputs.slice(produced, end), encoder.v2));
        const stalled = await waitFor(() => registryStall(fleet), 'an engine to report that it waits for the registry', 120_000);
        await proxy.resume();
        records.push({ fault: describeFault(fault), committedAt: at, detail: `${end - produced} records with schema id ${encoder.v2Id}; ${stalled}; registry back` });
        produced = end;
        outageAt = undefined;
      }
      say(`  ${records[records.length - 1]!.detail} (${records[records.length - 1]!.committedAt} committed)`);
    }
    await produceUpTo(total);
    say('waiting for the pipeline to settle');
    await settle(admin, appId, topics, total);
    await fleet.stopAll();
  } finally {
    await fleet.killAll();
    await producer.disconnect().catch(() => undefined);
    await proxy.close();
  }

  say('reading every topic of the run back (read_committed)');
  const topology = buildTopology({ appId, partitions: work.options.partitions, config: app.config, registry: new ConfluentRegistry(endpoints.registryUrl), topicPrefix: prefix, writerOrder: app.settings.writerOrder });
  const topicList = topology.topics.map((t) => t.name);
  const live = await readTopics(kafka, admin, topicList);
  await admin.disconnect();
  const liveOutputs = productOutputs([...live.values()].flat(), prefix);
  const findings = [
    ...(await checkExactlyOnce(topology, live, prefix)),
    noRepeats(topics.commands, liveOutputs.commandIds),
    noRepeats(topics.decisions, liveOutputs.decisionIds),
    noDeadLetters('the golden run', golden.deadLetters),
  ];
  say('scanning every topic, state directory and log of the run for raw PII');
  const privacy = await scanForPii(endpoints.brokers, { topicPrefix: prefix, appId }, fleet, piiNeedles(work.truth));
  return {
    privacy,
    seed: options.seed,
    appId,
    prefix,
    touchpoints: work.inputs.length,
    faults: records,
    findings,
    golden: compareOutputs(golden, liveOutputs),
    outputs: { golden, live: liveOutputs },
    decisionOutcomes: { golden: golden.decisionOutcomes, live: liveOutputs.decisionOutcomes },
    live,
    stateDirs: fleet.stateDirs,
    logFiles: fleet.logFiles,
    seconds: (Date.now() - started) / 1000,
  };
}

interface InputEncoder {
  v1(t: Touchpoint): Buffer;
  /** The same touchpoint written with a newer, compatible writer schema (one more optional field). */
  v2(t: Touchpoint): Buffer;
  v2Id: number;
}

async function inputEncoder(app: App, topic: string): Promise<InputEncoder> {
  const catalog = SchemaCatalog.load(SCHEMAS_DIR);
  const v1 = new AvroSerde<Touchpoint>(app.registry, catalog.type('Touchpoint'));
  await v1.init(topic);
  const schema = catalog.type('Touchpoint').schema({ exportAttrs: true }) as { fields: object[] };
  const v2Type = avro.Type.forSchema({ ...schema, fields: [...schema.fields, { name: 'channelBuild', type: ['null', 'string'], default: null }] } as avro.Schema);
  const v2Id = await app.registry.register(`${topic}-value`, JSON.stringify(v2Type.schema({ exportAttrs: true })));
  const header = Buffer.alloc(5);
  header.writeInt32BE(v2Id, 1);
  return {
    v1: (t) => v1.serialize(topic, t),
    v2: (t) => Buffer.concat([header, v2Type.toBuffer({ ...t, channelBuild: 'proof-v2' })]),
    v2Id,
  };
}


/** Readiness of a joining instance until it is ready, as the states seen in order (e.g. "starting → restoring → ready"). */
async function readinessTransitions(fleet: Fleet, name: string): Promise<string> {
  const seen: string[] = [];
  await waitFor(async () => {
    const probe = await fleet.probe(name, '/readyz');
    const state = !probe ? 'starting' : probe.ok ? 'ready' : (probe.body.restoring as string[] | undefined)?.length ? 'restoring' : 'not ready';
    if (seen[seen.length - 1] !== state) seen.push(state);
    return state === 'ready';
  }, `${name} to become ready`, 300_000);
  return seen.join(' → ');
}

/** An instance says on /readyz that it waits for the registry: a task stalled on it, or its start-up (a restarted instance). */
async function registryStall(fleet: Fleet): Promise<string | undefined> {
  for (const instance of fleet.running) {
    const probe = await fleet.probe(instance.name, '/readyz');
    const stalled = (probe?.body.stalled as { kind: string; task: string }[] | undefined)?.find((s) => s.kind === 'registry-unavailable');
    if (stalled) return `${instance.name} reported task ${stalled.task} stalled (registry-unavailable) on /readyz`;
    const waiting = probe?.body.waitingFor as { what: string; reason: string } | undefined;
    if (waiting?.reason.includes('schema registry')) return `${instance.name} reported its start-up waiting for ${waiting.what} on /readyz`;
  }
  return undefined;
}

/** Every topic of the run except the channels' own input (and its dead letters), every state directory, every log. */
async function scanForPii(brokers: string[], run: { topicPrefix: string; appId: string }, fleet: Fleet, needles: Needle[]): Promise<ScanResult> {
  // read_committed, through PartitionReader: a consumer (read_uncommitted) never reaches the end of a
  // compacted partition whose last batches compaction emptied, as kafkajs cannot see them. Aborted
  // transactions hold the outputs of the same processors as committed ones, which are scanned.
  const topics = await scanTopics(brokers, await topicsToScan(brokers, run), needles, { isolation: 'read_committed' });
  const state = await Promise.all(fleet.stateDirs.map((dir) => scanStateDir(dir, needles)));
  return combineResults([topics, ...state, await scanFiles(fleet.logFiles, needles)]);
}
