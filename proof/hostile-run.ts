import { join } from 'node:path';
import type { Logger } from 'pino';
import { assemble, provisionTopics } from '../cli/app';
import { stackEndpoints } from '../local-stack/settings';
import { up } from '../local-stack/stack';
import type { IdentityAudit } from '../processors/identity/audit';
import type { ProfileEvent } from '../processors/model/profile-event';
import { ENGINE_EVENTS, type Touchpoint } from '../processors/model/touchpoint';
import type { SegmentMembership } from '../processors/segmentation/segmentation-processor';
import { Kafka, logLevel } from '../runtime/kafka/kafkajs/client';
import { partitionForKey } from '../runtime/kafka/partitioner';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { ConfluentRegistry } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import type { Serde } from '../runtime/serde/serde';
import { buildTopology, SCHEMAS_DIR, topicNames } from '../topology';
import { checkExactlyOnce, type Finding } from './eos-oracle';
import { Fleet } from './fleet';
import { hostileRecords } from './hostile';
import { accountHostile, type HostileAccount, type SentRecord } from './hostile-check';
import { readTopics } from './live';
import { COMMIT_INTERVAL_MS, produce, settle } from './pipeline';
import { workload } from './workload';

export interface HostileRunOptions {
  seed: number;
  count: number;
  /** Valid simulated touchpoints produced after the bad ones. */
  valid: number;
  partitions: number;
  workDir: string;
  configDir: string;
  log: Logger;
  say(line: string): void;
}

export interface HostileRun {
  account: HostileAccount;
  /** Per raw partition: records produced, and what the engine's own counters say it committed. */
  partitions: { partition: number; produced: number; recordsIn: number; deadLettered: number; expectedDeadLetters: number }[];
  /** /readyz and /healthz polls once the instance was first ready, and how many of them said no. */
  probes: { polls: number; notReady: number; unhealthy: number };
  findings: Finding[];
}

/**
 * Thousands of bad records on touchpoints.raw, then valid touchpoints,
 * through one engine process: it must stay up and ready, put every bad
 * record in the dead-letter topic with its bytes and a reason (or process
 * it, where the contract says so), and process the valid ones after them.
 */
export async function runHostile(options: HostileRunOptions): Promise<HostileRun> {
  await up(options.say);
  const endpoints = stackEndpoints();
  const appId = `hostile-${options.seed}-${Date.now().toString(36)}-${process.pid}`;
  const prefix = `${appId}.`;
  const topics = topicNames(prefix);
  const app = assemble({ configDir: options.configDir, log: options.log, env: { ...process.env, LP_APP_ID: appId, LP_TOPIC_PREFIX: prefix, LP_PARTITIONS: String(options.partitions) } });
  await provisionTopics(app, { keepForever: true });
  const catalog = SchemaCatalog.load(SCHEMAS_DIR);
  const touchpoints = new AvroSerde<Touchpoint>(app.registry, catalog.type('Touchpoint'));
  await touchpoints.init(topics.raw);
  const other = new AvroSerde<SegmentMembership>(app.registry, catalog.type('SegmentMembership'));
  await other.init(`${prefix}hostile.other`);

  const hostile = hostileRecords({
    seed: options.seed,
    count: options.count,
    encode: (t) => touchpoints.serialize(topics.raw, t),
    encodeOther: (m) => other.serialize(`${prefix}hostile.other`, m),
    unknownSchemaId: 2_000_000_000,
    tag: `h${options.seed}`,
  });
  const valid = workload({ seed: options.seed, people: 200, days: 30, partitions: options.partitions, maxTouchpoints: options.valid }).inputs;
  const next = new Array<number>(options.partitions).fill(0);
  const sent: SentRecord[] = [];
  const position = (key: Buffer | null, index: number) => (key === null ? index % options.partitions : partitionForKey(key, options.partitions));
  for (const r of hostile) {
    const partition = r.expect.outcome === 'duplicate' ? sent[r.expect.original]!.partition : position(r.key, r.index);
    sent.push({ record: r, eventId: r.eventId, partition, offset: next[partition]!++, key: r.key, value: r.value });
  }
  for (const v of valid) sent.push({ eventId: v.touchpoint.eventId, partition: v.partition, offset: next[v.partition]!++, key: v.key, value: touchpoints.serialize(topics.raw, v.touchpoint) });
  const kafka = new Kafka({ clientId: appId, brokers: endpoints.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await produce(producer, topics.raw, sent.map((s) => ({ partition: s.partition, key: s.key, value: s.value, timestamp: Date.now() })));
  await producer.disconnect();
  options.say(`produced ${hostile.length} bad records and ${valid.length} valid touchpoints to ${topics.raw}`);

  const fleet = new Fleet({
    appId,
    topicPrefix: prefix,
    partitions: options.partitions,
    brokers: endpoints.brokers,
    registryUrl: endpoints.registryUrl,
    stateRoot: join(options.workDir, 'state'),
    logDir: join(options.workDir, 'logs'),
    commitIntervalMs: COMMIT_INTERVAL_MS,
    sessionTimeoutMs: 6_000,
  });
  const admin = kafka.admin();
  await admin.connect();
  const probes = { polls: 0, notReady: 0, unhealthy: 0 };
  let metrics = '';
  try {
    await fleet.start('solo');
    let ready = false;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [readiness, health] = await Promise.all([fleet.probe('solo', '/readyz'), fleet.probe('solo', '/healthz')]);
        ready ||= readiness?.ok === true;
        if (ready) {
          probes.polls++;
          if (!readiness?.ok) probes.notReady++;
          if (!health?.ok) probes.unhealthy++;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    await settle(admin, appId, topics, sent.length);
    watching = false;
    await watch;
    metrics = await (await fetch(`${fleet.instance('solo').url}/metrics`)).text();
    await fleet.stopAll();
  } finally {
    await fleet.killAll();
  }

  const topology = buildTopology({ appId, partitions: options.partitions, config: app.config, registry: new ConfluentRegistry(endpoints.registryUrl), topicPrefix: prefix, writerOrder: app.settings.writerOrder });
  const live = await readTopics(kafka, admin, topology.topics.map((t) => t.name));
  await admin.disconnect();
  const decode = async <T>(topic: string): Promise<T[]> => {
    const serde = topology.subTopologies.flatMap((s) => [...s.nodes.values()]).find((n) => (n.kind === 'sink' || n.kind === 'source') && n.options.topic === topic);
    if (!serde || serde.kind === 'processor') throw new Error(`no serde for ${topic}`);
    const value = serde.options.value as Serde<T>;
    const values = (live.get(topic) ?? []).flatMap((r) => (r.value ? [r.value] : []));
    await value.prepare?.(topic, values);
    return values.map((v) => value.deserialize(topic, v));
  };
  const account = accountHostile(
    sent,
    {
      deadLetters: live.get(topology.deadLetterTopic(topics.raw)) ?? [],
      resolved: (await decode<ProfileEvent>(topics.resolved)).flatMap((e) => (e.body.kind === 'touchpoint' ? [e.body.touchpoint.eventId] : [])),
      // the engine's own requests on the link log (retention) are no input of anyone's
      linked: (await decode<Touchpoint>(topics.links)).flatMap((t) => (ENGINE_EVENTS.has(t.eventType) ? [] : [t.eventId])),
      audits: await decode<IdentityAudit>(topics.audit),
    },
    topics.raw,
  );
  const counter = (name: string, partition: number) =>
    [...metrics.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)`, 'gm'))]
      .filter((m) => m[1]!.includes(`topic="${topics.raw}"`) && m[1]!.includes(`partition="${partition}"`))
      .reduce((sum, m) => sum + Number(m[2]), 0);
  const partitions = Array.from({ length: options.partitions }, (_, partition) => ({
    partition,
    produced: sent.filter((s) => s.partition === partition).length,
    recordsIn: counter('lp_records_in_total', partition),
    deadLettered: counter('lp_dead_letter_total', partition),
    expectedDeadLetters: sent.filter((s) => s.partition === partition && s.record?.expect.outcome === 'dead-letter').length,
  }));
  return { account, partitions, probes, findings: await checkExactlyOnce(topology, live, prefix) };
}
