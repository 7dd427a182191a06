import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from 'pino';
import { loadEngineSettings, type EngineSettings } from '../config/engine';
import { loadProductConfig } from '../config/product';
import { stackEndpoints } from '../local-stack/settings';
import { HttpServer } from '../runtime/http';
import { Engine } from '../runtime/kafka/engine';
import { RuntimeMetrics } from '../runtime/metrics';
import { createTopics, type TopicReport } from '../runtime/kafka/topics';
import { ConfluentRegistry } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import type { Topology } from '../runtime/topology';
import { buildTopology, SCHEMAS_DIR } from '../topology';

export const DEFAULT_CONFIG_DIR = join(__dirname, '..', 'config');

export interface AppOptions {
  configDir?: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface App {
  settings: EngineSettings;
  topology: Topology;
  registry: ConfluentRegistry;
  brokers: string[];
}

/** Reads and validates every config and rule file, and builds the topology; nothing touches the network. */
export function assemble(options: AppOptions): App {
  const configDir = options.configDir ?? DEFAULT_CONFIG_DIR;
  const env = options.env ?? process.env;
  const settings = loadEngineSettings(join(configDir, 'engine.yaml'), env);
  const config = loadProductConfig(configDir);
  const endpoints = stackEndpoints(env);
  const registry = new ConfluentRegistry(endpoints.registryUrl);
  const topology = buildTopology({ appId: settings.appId, partitions: settings.partitions, config, registry });
  return { settings, topology, registry, brokers: endpoints.brokers };
}

/** Creates the topology's topics (idempotent) and registers the value schemas. */
export async function provisionTopics(app: App): Promise<TopicReport> {
  const kafka = new Kafka({ clientId: `${app.settings.appId}-admin`, brokers: app.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await createTopics(admin, app.topology, { registry: app.registry, catalog: SchemaCatalog.load(SCHEMAS_DIR) });
  } finally {
    await admin.disconnect();
  }
}

/** Runs the engine and its HTTP endpoints until `stop` is called. */
export async function runEngine(app: App, log: Logger): Promise<{ engine: Engine; http: HttpServer; stop(): Promise<void> }> {
  const { settings } = app;
  const started: { engine?: Engine } = {};
  const metrics = new RuntimeMetrics({ defaultMetrics: true });
  const http = new HttpServer({
    host: settings.http.host,
    port: settings.http.port,
    registry: metrics.registry,
    healthy: () => started.engine?.healthy() ?? true,
    ready: () => started.engine?.readiness() ?? { ready: false, detail: { starting: true } },
  });
  const address = await http.start().catch((error: unknown) => {
    throw new Error(`cannot listen on ${settings.http.host}:${settings.http.port} (${(error as Error).message}): set LP_HTTP_PORT to a free port`);
  });
  const engine = new Engine(app.topology, {
    brokers: app.brokers,
    stateDir: resolve(settings.stateDir),
    guarantee: settings.guarantee,
    commitIntervalMs: settings.commitIntervalMs,
    maxUncommittedRecords: 20_000,
    cacheEntriesPerStore: settings.cacheEntriesPerStore,
    partitionsConsumedConcurrently: Math.max(2, settings.partitions),
    advertisedEndpoint: `${address.address}:${address.port}`,
    log,
    metrics,
  });
  started.engine = engine;
  await engine.start();
  log.info({ http: `http://${address.address}:${address.port}` }, 'listening');
  return {
    engine,
    http,
    stop: async () => {
      await engine.stop();
      await http.stop();
    },
  };
}
