import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from '../runtime/kafka/kafkajs/client';
import { checkJava, installKafka, installRegistry, javaCommand, REGISTRY, StackError } from './install';
import { LOCAL_KAFKA_USER, securedEndpoint, StackSettings, stackSettings } from './settings';

/**
 * The local stack: one Kafka broker (KRaft, combined mode) and one Apicurio
 * Registry, both plain JVM processes on loopback, tracked by pid files.
 * Every function here is idempotent so that tests, the demo and CI can all
 * call `up()` without knowing who started what.
 */

type ServiceName = 'kafka' | 'registry';

interface Service {
  name: ServiceName;
  ports: number[];
  pidFile: string;
  logFile: string;
  start(settings: StackSettings, say: (line: string) => void): Promise<void>;
  isReady(settings: StackSettings): Promise<boolean>;
  /**
   * After a launch, ready also means serving what it had before: a probe that
   * is asked again until it says yes, then closed. Optional.
   */
  serving?(settings: StackSettings): Probe;
}

interface Probe {
  check(): Promise<boolean>;
  close(): Promise<void>;
}

export interface ServiceStatus {
  name: ServiceName;
  state: 'running' | 'stopped';
  pid?: number;
  address: string;
  logFile: string;
}

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
/** Marks our JVMs on their command line so a recycled pid is never mistaken for ours. */
const MARKER = '-Dlistening-post.service=';

function services(settings: StackSettings): Service[] {
  const logs = join(settings.stateDir, 'logs');
  return [
    {
      name: 'kafka',
      ports: [settings.kafkaPort, settings.controllerPort, settings.securePort],
      pidFile: join(settings.stateDir, 'kafka.pid'),
      logFile: join(logs, 'kafka.log'),
      start: startKafka,
      isReady: kafkaReady,
      serving: kafkaServing,
    },
    {
      name: 'registry',
      ports: [settings.registryPort],
      pidFile: join(settings.stateDir, 'registry.pid'),
      logFile: join(logs, 'registry.log'),
      start: startRegistry,
      isReady: registryReady,
    },
  ];
}

async function render(template: string, values: Record<string, string | number>): Promise<string> {
  const text = await readFile(join(__dirname, template), 'utf8');
  return text.replace(/\$\{(\w+)\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`${template}: no value for \${${key}}`);
    return String(values[key]);
  });
}

/**
 * Kafka's cluster id format: 16 random bytes, URL-safe base64 without
 * padding. Like Kafka's own Uuid, never one that starts with '-', which the
 * storage tool's argument parser would read as an option.
 */
function clusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The JDK's keytool, next to the java the stack runs. */
function keytoolCommand(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'keytool') : 'keytool';
}

/**
 * The secured listener's key pair, self-signed for 127.0.0.1 and localhost,
 * made once per stack directory; its certificate (PEM) is what clients
 * trust (securedEndpoint().caFile).
 */
async function tlsMaterial(settings: StackSettings): Promise<{ keystore: string; password: string }> {
  const dir = join(settings.stateDir, 'tls');
  const keystore = join(dir, 'broker.p12');
  const password = 'lp-local-keystore';
  if (existsSync(keystore) && existsSync(securedEndpoint(settings).caFile)) return { keystore, password };
  await mkdir(dir, { recursive: true });
  await rm(keystore, { force: true });
  const steps = [
    ['-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '3650', '-dname', 'CN=localhost',
      '-ext', 'SAN=dns:localhost,ip:127.0.0.1', '-keystore', keystore, '-storetype', 'PKCS12', '-storepass', password, '-keypass', password],
    ['-exportcert', '-rfc', '-alias', 'broker', '-keystore', keystore, '-storepass', password, '-file', securedEndpoint(settings).caFile],
  ];
  for (const args of steps) {
    const step = spawnSync(keytoolCommand(), args);
    if ((await step.exit) !== 0) throw new StackError(`keytool ${args[0]} failed: ${step.output().trim().split('\n').pop()}`);
  }
  return { keystore, password };
}

async function startKafka(settings: StackSettings, say: (line: string) => void): Promise<void> {
  const libs = await installKafka(settings, say);
  const dataDir = join(settings.stateDir, 'kafka-data');
  const config = join(settings.stateDir, 'kafka.properties');
  const tls = await tlsMaterial(settings);
  await writeFile(
    config,
    await render('kafka.properties', {
      KAFKA_PORT: settings.kafkaPort,
      CONTROLLER_PORT: settings.controllerPort,
      SECURE_PORT: settings.securePort,
      DATA_DIR: dataDir,
      KEYSTORE: tls.keystore,
      KEYSTORE_PASSWORD: tls.password,
      SASL_USER: LOCAL_KAFKA_USER.username,
      SASL_PASSWORD: LOCAL_KAFKA_USER.password,
    }),
  );
  const classpath = ['-cp', join(libs, '*'), `-Dlog4j2.configurationFile=${join(__dirname, 'log4j2.properties')}`];
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    // The SCRAM user of the secured listener is created with the cluster (PLAIN's is in kafka.properties).
    const scram = ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => ['--add-scram', `${m}=[name=${LOCAL_KAFKA_USER.username},password=${LOCAL_KAFKA_USER.password}]`]);
    const format = spawnSync(javaCommand(), [...classpath, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId(), '-c', config, ...scram]);
    const code = await format.exit;
    if (code !== 0) throw new StackError(`formatting Kafka storage in ${dataDir} failed: ${format.output().trim().split('\n').pop()}`);
  }
  await launch(services(settings)[0], [
    `-Xms256m`,
    `-Xmx${settings.kafkaHeap}`,
    '-XX:+UseG1GC',
    `${MARKER}kafka`,
    ...classpath,
    'kafka.Kafka',
    config,
  ]);
}

async function startRegistry(settings: StackSettings, say: (line: string) => void): Promise<void> {
  const dir = await installRegistry(settings, say);
  await launch(
    services(settings)[1],
    [`-Xmx${settings.registryHeap}`, `${MARKER}registry`, '-jar', join(dir, REGISTRY.jar)],
    {
      QUARKUS_HTTP_HOST: '127.0.0.1',
      QUARKUS_HTTP_PORT: String(settings.registryPort),
      // Anonymous access is the default; say so, as a reader will ask.
      APICURIO_AUTH_ENABLED: 'false',
    },
  );
}

function spawnSync(command: string, args: string[]): { exit: Promise<number>; output(): string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    exit: new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1))),
    output: () => output,
  };
}

async function launch(service: Service, args: string[], env: Record<string, string> = {}): Promise<void> {
  const log = openSync(service.logFile, 'a');
  try {
    const child = spawn(javaCommand(), args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...env },
    });
    child.unref();
    await writeFile(service.pidFile, String(child.pid));
  } finally {
    closeSync(log);
  }
}

/** A client for the stack's own checks: no retries, as the caller polls. */
function stackClient(settings: StackSettings): Kafka {
  return new Kafka({
    clientId: 'listening-post-stack',
    brokers: [`127.0.0.1:${settings.kafkaPort}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
}

async function kafkaReady(settings: StackSettings): Promise<boolean> {
  const admin = stackClient(settings).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.controller !== null && cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * A broker that comes back with data answers metadata, naming itself leader,
 * before it leads its partitions again: meanwhile ListOffsets, Produce and
 * Fetch get NOT_LEADER_OR_FOLLOWER (measured here: 0.5 s to 4 s with ~800
 * partitions, depending on load). Serving means every partition of every
 * topic answers ListOffsets. One admin client for the whole wait, so topic
 * metadata is fetched once; topics that answered are not asked again, and a
 * topic deleted meanwhile is dropped. (Group and transaction coordinators
 * load just after; clients retry COORDINATOR_LOAD_IN_PROGRESS.)
 */
function kafkaServing(settings: StackSettings): Probe {
  const admin = stackClient(settings).admin();
  let connected = false;
  let pending: string[] | undefined;
  const errorType = (reason: unknown) => {
    const e = reason as { type?: string; cause?: { type?: string } };
    return e?.type ?? e?.cause?.type;
  };
  return {
    async check() {
      try {
        if (!connected) await admin.connect();
        connected = true;
        pending ??= (await admin.fetchTopicMetadata()).topics.map((t) => t.name);
        const results = await Promise.allSettled(pending.map((topic) => admin.fetchTopicOffsets(topic)));
        pending = pending.filter((_, i) => {
          const result = results[i]!;
          return result.status === 'rejected' && errorType(result.reason) !== 'UNKNOWN_TOPIC_OR_PARTITION';
        });
        return pending.length === 0;
      } catch {
        return false;
      }
    },
    close: () => admin.disconnect().catch(() => undefined),
  };
}

async function registryReady(settings: StackSettings): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${settings.registryPort}/health/ready`);
    return response.ok;
  } catch {
    return false;
  }
}

/** The pid of our live process for this service, or undefined. */
async function livePid(service: Service): Promise<number | undefined> {
  if (!existsSync(service.pidFile)) return undefined;
  const pid = Number(await readFile(service.pidFile, 'utf8'));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(`${MARKER}${service.name}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function lastLines(file: string, count: number): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '';
  }
}

/**
 * Polls the service's ready check; after a launch (`launched`), also its
 * serving probe, so that a broker restarted with data counts as ready only
 * once it serves that data.
 */
async function waitUntilReady(service: Service, settings: StackSettings, launched = false): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let answering = false;
  let serving: Probe | undefined;
  try {
    while (Date.now() < deadline) {
      answering ||= await service.isReady(settings);
      if (answering) {
        if (!launched || !service.serving) return;
        serving ??= service.serving(settings);
        if (await serving.check()) return;
      }
      if ((await livePid(service)) === undefined) {
        const tail = await lastLines(service.logFile, 15);
        throw new StackError(`${service.name} exited during start-up; see ${service.logFile}:\n${tail}`);
      }
      await delay(250);
    }
  } finally {
    await serving?.close();
  }
  const what = answering ? 'answers but did not serve its data' : 'did not become ready';
  throw new StackError(`${service.name} ${what} within ${READY_TIMEOUT_MS / 1000} s; see ${service.logFile}`);
}

/** Refuses to start on a port someone else holds, with one line that says what to do. */
async function checkPortsFree(service: Service): Promise<void> {
  for (const port of service.ports) {
    if (await portInUse(port)) {
      throw new StackError(
        `port ${port} (${service.name}) is taken by another process: stop it, or choose other ports with LP_KAFKA_PORT, LP_KAFKA_CONTROLLER_PORT, LP_REGISTRY_PORT`,
      );
    }
  }
}

/** Starts whatever is not running; returns the services it started. */
export async function up(say: (line: string) => void = () => undefined): Promise<ServiceName[]> {
  const settings = stackSettings();
  await mkdir(join(settings.stateDir, 'logs'), { recursive: true });
  const started: ServiceName[] = [];
  let javaChecked = false;
  for (const service of services(settings)) {
    if ((await livePid(service)) !== undefined) {
      await waitUntilReady(service, settings);
      continue;
    }
    await checkPortsFree(service);
    if (!javaChecked) await checkJava();
    javaChecked = true;
    say(`starting ${service.name} on 127.0.0.1:${service.ports.join(', ')}`);
    await service.start(settings, say);
    started.push(service.name);
  }
  for (const service of services(settings)) await waitUntilReady(service, settings, started.includes(service.name));
  return started;
}

async function exited(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Stops one service (SIGTERM, then SIGKILL after a grace period) and waits
 * until its process is gone, so its ports are free again; removes its pid
 * file. True when it was running.
 */
async function stopService(service: Service): Promise<boolean> {
  const pid = await livePid(service);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (!(await exited(pid)) && Date.now() < deadline) await delay(100);
    if (!(await exited(pid))) process.kill(pid, 'SIGKILL');
    while (!(await exited(pid))) await delay(50);
  }
  await rm(service.pidFile, { force: true });
  return pid !== undefined;
}

/** Stops both services (SIGTERM, then SIGKILL after a grace period); returns what it stopped. */
export async function down(options: { purge?: boolean } = {}): Promise<ServiceName[]> {
  const settings = stackSettings();
  const stopped: ServiceName[] = [];
  // The registry first: it holds nothing Kafka needs.
  for (const service of [...services(settings)].reverse()) {
    if (await stopService(service)) stopped.push(service.name);
  }
  if (options.purge) await rm(join(settings.stateDir, 'kafka-data'), { recursive: true, force: true });
  return stopped;
}

/**
 * The services `restart` offers: only Kafka. The registry runs with
 * in-memory storage, so a restarted registry comes back empty and hands out
 * schema ids again from the start, while the records already in Kafka carry
 * the old ids in their Confluent wire-format header: they would then decode
 * with the wrong schema or not at all. To make the registry briefly
 * unavailable without losing its state, put a proof/tcp-proxy.ts in front
 * of it and pause that.
 */
export type RestartableService = 'kafka';

export interface Restarted {
  name: RestartableService;
  /** False when it was not running (then this only started it). */
  wasRunning: boolean;
  pid: number;
  /** From the first signal until the process was gone. */
  stopMs: number;
  /** From the launch until it answered and served every partition again (see kafkaServing). */
  startMs: number;
}

/**
 * Stops one service and starts it again, its data kept (Kafka's log
 * directory is only deleted by `down({ purge: true })`), and waits until it
 * is ready and serves every partition again. For fault-injection tests: clients see the broker go away and
 * come back with every record it had acknowledged. Leaves the other service
 * alone.
 */
export async function restart(name: RestartableService, say: (line: string) => void = () => undefined): Promise<Restarted> {
  if (name !== 'kafka') {
    // Guards callers that are not type-checked (the CLI): see RestartableService.
    throw new StackError(
      `${String(name)} cannot be restarted: only kafka can (the registry keeps its schemas in memory, so a restart would lose every schema id); use stack:down and stack:up to start both afresh`,
    );
  }
  const settings = stackSettings();
  const service = services(settings).find((s) => s.name === name)!;
  await mkdir(join(settings.stateDir, 'logs'), { recursive: true });
  const stopping = Date.now();
  const wasRunning = await stopService(service);
  const stopMs = Date.now() - stopping;
  say(wasRunning ? `stopped ${name} in ${(stopMs / 1000).toFixed(1)} s` : `${name} was not running`);
  await checkPortsFree(service);
  await checkJava();
  say(`starting ${name} on 127.0.0.1:${service.ports.join(', ')}`);
  const starting = Date.now();
  await service.start(settings, say);
  await waitUntilReady(service, settings, true);
  const startMs = Date.now() - starting;
  const pid = await livePid(service);
  if (pid === undefined) throw new StackError(`${name} is ready but its pid file ${service.pidFile} names no live process`);
  return { name, wasRunning, pid, stopMs, startMs };
}

export async function status(): Promise<ServiceStatus[]> {
  const settings = stackSettings();
  const result: ServiceStatus[] = [];
  for (const service of services(settings)) {
    const pid = await livePid(service);
    result.push({
      name: service.name,
      state: pid === undefined ? 'stopped' : 'running',
      pid,
      address: service.ports.map((p) => `127.0.0.1:${p}`).join(', '),
      logFile: service.logFile,
    });
  }
  return result;
}

export function logFiles(): Record<ServiceName, string> {
  const [kafka, registry] = services(stackSettings());
  return { kafka: kafka.logFile, registry: registry.logFile };
}
