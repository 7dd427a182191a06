import { join, resolve } from 'node:path';
import { Kafka, logLevel } from '../runtime/kafka/kafkajs/client';
import type { Logger } from 'pino';
import { loadEngineSettings, type EngineSettings } from '../config/engine';
import { configWarnings, loadProductConfig } from '../config/product';
import { stackEndpoints } from '../local-stack/settings';
import { HttpServer } from '../runtime/http';
import { kafkaConnection, type KafkaConnection } from '../runtime/kafka/connection';
import { refusedCredentials } from '../runtime/kafka/kafkajs/errors';
import { Engine } from '../runtime/kafka/engine';
import { RuntimeMetrics } from '../runtime/metrics';
import { createTopics, type TopicOptions, type TopicReport } from '../runtime/kafka/kafkajs/topics';
import { ConfluentRegistry, registryAuth } from '../runtime/serde/registry';
import type { CachedStore } from '../runtime/state/cached-store';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import type { Topology } from '../runtime/topology';
import { identityCorrectionsApi } from '../api/identity-corrections';
import { profileApi } from '../api/profile-api';
import { AvroSerde } from '../runtime/serde/avro-serde';
import type { Touchpoint } from '../processors/model/touchpoint';
import { Activity } from '../console/activity';
import { consoleAssets } from '../console/assets';
import { whatNext } from '../console/next';
import { consoleApi } from '../console/routes';
import { ConsoleSource } from '../console/source';
import type { ProfileLocator } from '../api/profiles';
import { IdentifierHasher, identitySecret } from '../processors/identity/identifiers';
import type { ProfileEntry } from '../processors/model/profile-state';
import { profileView } from '../processors/profile/view';
import { IDENTITY_GRAPH_STORE, PROFILES_STORE } from '../processors/stores';
import { buildTopology, SCHEMAS_DIR, topicNames, type ProductConfig } from '../topology';

const PACKAGE_VERSION = (require('listening-post/package.json') as { version: string }).version;

export const DEFAULT_CONFIG_DIR = join(__dirname, '..', 'config');

export interface AppOptions {
  configDir?: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface App {
  settings: EngineSettings;
  config: ProductConfig;
  topology: Topology;
  registry: ConfluentRegistry;
  kafka: KafkaConnection;
  env: NodeJS.ProcessEnv;
}

/** Reads and validates every config and rule file, and builds the topology; nothing touches the network. */
export function assemble(options: AppOptions): App {
  const configDir = options.configDir ?? DEFAULT_CONFIG_DIR;
  const env = options.env ?? process.env;
  const settings = loadEngineSettings(join(configDir, 'engine.yaml'), env);
  const config = loadProductConfig(configDir);
  for (const warning of configWarnings(config)) options.log.warn({ configDir }, warning);
  const endpoints = stackEndpoints(env);
  const registry = new ConfluentRegistry(endpoints.registryUrl, registryAuth(env));
  const topology = buildTopology({ appId: settings.appId, partitions: settings.partitions, config, registry, topicPrefix: settings.topicPrefix, writerOrder: settings.writerOrder });
  return { settings, config, topology, registry, kafka: kafkaConnection(endpoints.brokers, env), env };
}

/** Creates the topology's topics (idempotent) and registers the value schemas. */
export async function provisionTopics(app: App, options: TopicOptions = {}): Promise<TopicReport> {
  const kafka = new Kafka({ clientId: `${app.settings.appId}-admin`, ...app.kafka, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw refusedCredentials(error, app.kafka) ?? error;
  });
  try {
    return await createTopics(admin, app.topology, { registry: app.registry, catalog: SchemaCatalog.load(SCHEMAS_DIR) }, options);
  } finally {
    await admin.disconnect();
  }
}

/** Runs the engine and its HTTP endpoints until `stop` is called. */
export async function runEngine(app: App, log: Logger): Promise<{ engine: Engine; url: string; stop(): Promise<void> }> {
  const { settings } = app;
  const started: { engine?: Engine } = {};
  const metrics = new RuntimeMetrics({ defaultMetrics: true });
  const healthy = () => started.engine?.healthy() ?? { healthy: true, detail: { starting: true } };
  const ready = () => started.engine?.readiness() ?? { ready: false, detail: { starting: true } };
  metrics.reportHealth({ ready: () => ready().ready, healthy: () => healthy().healthy });
  const hasher = new IdentifierHasher(app.config.identity, identitySecret(app.config.identity));
  const members = groupMembers(() => started.engine);
  const topics = topicNames(settings.topicPrefix);
  const locator = engineLocator(() => started.engine, members, topics.resolved, settings.partitions);
  const token = app.env[settings.profileApiTokenEnv];
  const corrections = touchpointWriter(app, topics.raw);
  const activity = new Activity();
  const consoleReadiness = async () => {
    const { ready: isReady, detail } = ready();
    const { tasks = 0, restoring = [] } = detail as { tasks?: number; restoring?: string[] };
    return { ready: isReady, instances: (await members().catch(() => [])).length, tasks, restoring: restoring.length, waiting: isReady ? null : waitingFor(detail) };
  };
  const http = new HttpServer({
    host: settings.http.host,
    port: settings.http.port,
    registry: metrics.registry,
    healthy,
    ready,
    log,
    api: { title: `Listening Post (${settings.appId})`, version: PACKAGE_VERSION },
    plugins: [
      profileApi({ token, hasher, locator, render: (state) => ({ ...profileView(state, app.config.scoring), journey: state.journey }) }),
      identityCorrectionsApi({ token, submit: (correction) => corrections.send([correction]) }),
      ...(settings.console ? [consoleAssets, consoleApi({ token, appId: settings.appId, config: app.config, locator, hasher, activity, next: whatNext, readiness: consoleReadiness })] : []),
    ],
  });
  const address = await http.start().catch((error: unknown) => {
    const message = (error as Error).message;
    throw message.startsWith('cannot listen') ? new Error(`${message}: set LP_HTTP_PORT to a free port`) : error;
  });
  const engine = new Engine(app.topology, {
    kafka: app.kafka,
    stateDir: resolve(settings.stateDir),
    guarantee: settings.guarantee,
    commitIntervalMs: settings.commitIntervalMs,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    wallClockPunctuation: settings.wallClockPunctuation,
    writerIdleMs: settings.writerIdleMs,
    producerClient: settings.producerClient,
    maxUncommittedRecords: 20_000,
    cacheEntriesPerStore: settings.cacheEntriesPerStore,
    partitionsConsumedConcurrently: Math.max(2, settings.partitions),
    advertisedEndpoint: `${settings.http.advertisedHost ?? address.address}:${address.port}`,
    log,
    metrics,
  });
  started.engine = engine;
  await engine.start();
  const source = settings.console
    ? new ConsoleSource({ kafka: app.kafka, topology: app.topology, topics, registry: app.registry, catalog: SchemaCatalog.load(SCHEMAS_DIR), activity, log })
    : undefined;
  await source?.start();
  log.info({ http: `http://${address.address}:${address.port}` }, 'listening');
  return {
    engine,
    url: `http://${address.address}:${address.port}`,
    stop: async () => {
      await source?.stop();
      await engine.stop();
      await http.stop();
      await corrections.close();
    },
  };
}

/**
 * Writes touchpoints to touchpoints.raw as a channel does (Avro with the
 * registry's schema id, keyed by the first identifier, stamped with the
 * event time): the API's corrections, and the tests' input. The producer
 * connects on first use.
 */
export function touchpointWriter(app: App, topic: string): { send(touchpoints: Touchpoint[]): Promise<void>; close(): Promise<void> } {
  const serde = new AvroSerde<Touchpoint>(app.registry, SchemaCatalog.load(SCHEMAS_DIR).type('Touchpoint'));
  const producer = new Kafka({ clientId: `${app.settings.appId}-touchpoints`, ...app.kafka, logLevel: logLevel.NOTHING }).producer({ idempotent: true });
  let connected: Promise<void> | undefined;
  return {
    async send(touchpoints) {
      connected ??= Promise.all([producer.connect(), serde.init(topic)]).then(() => undefined);
      await connected.catch((error: unknown) => {
        connected = undefined;
        throw error;
      });
      const messages = touchpoints.map((t) => ({ key: Buffer.from(t.identifiers[0]?.value ?? t.eventId), value: serde.serialize(topic, t), timestamp: String(t.occurredAt) }));
      await producer.send({ topic, acks: -1, messages });
    },
    async close() {
      if (connected) await producer.disconnect();
    },
  };
}

/**
 * How the profile API finds a profile's state: locally, or at the instance
 * the group gave its partition. The HTTP port opens before the engine
 * exists (the engine advertises its address); until then nothing is local
 * and no one owns anything.
 */
function engineLocator(current: () => Engine | undefined, members: () => Promise<GroupMember[]>, topic: string, partitions: number): ProfileLocator {
  return {
    topic,
    partitions,
    localStore: (partition) => {
      const engine = current();
      const sub = engine?.topology.subTopologies.find((s) => s.sources.some((source) => source.options.topic === topic));
      const store = sub && engine!.activeTask(sub.id, partition)?.store(PROFILES_STORE) as CachedStore<ProfileEntry> | undefined;
      return store && { get: (key: string) => store.committed(key) };
    },
    identityGraph: () => current()?.globalTable<string>(IDENTITY_GRAPH_STORE),
    owner: async (partition) => (await members()).find((member) => member.assignment[topic]?.includes(partition))?.endpoint,
  };
}

type GroupMember = Awaited<ReturnType<Engine['groupMembers']>>[number];

/** Why an instance is not ready, in words, from its readiness detail (Engine.readiness). */
export function waitingFor(detail: unknown): string {
  const d = detail as Partial<ReturnType<Engine['readiness']>['detail']> & { starting?: boolean };
  if (d.starting) return 'starting';
  if (d.joined === false) return 'joining the consumer group';
  if (d.restoring?.length) return `restoring ${d.restoring.length} task${d.restoring.length === 1 ? '' : 's'} from their changelogs`;
  if (d.stalled?.length) return `stalled: ${d.stalled.map((s) => `task ${s.task} (${s.kind}: ${s.reason})`).join('; ')}`;
  if (d.globalTablesCaughtUp === false) return 'the identity graph is catching up with its changelog';
  if (d.waitingFor) return `${d.waitingFor.what}: ${d.waitingFor.reason}`;
  return 'stopping';
}

/** The engine group's members and their assignments, asked of the broker at most every 2 s (the profile API and the console ask often). */
function groupMembers(current: () => Engine | undefined): () => Promise<GroupMember[]> {
  let known: { at: number; members: GroupMember[] } | undefined;
  return async () => {
    const engine = current();
    if (!engine) return [];
    if (!known || Date.now() - known.at > 2_000) known = { at: Date.now(), members: await engine.groupMembers() };
    return known.members;
  };
}
