import { ConfigError } from '../runtime/errors';
import { PRODUCER_CLIENTS, type ProducerClient } from '../runtime/kafka/engine-config';
import { loadConfigFile, schemaProblem, type ConfigFile } from './load';

/** config/engine.yaml, after environment overrides. */
export interface EngineSettings {
  appId: string;
  topicPrefix: string;
  partitions: number;
  guarantee: 'exactly_once' | 'at_least_once';
  commitIntervalMs: number;
  /** How long the group waits for a silent instance before moving its tasks. */
  sessionTimeoutMs: number;
  /** Live freshness: idle tasks move their timers on by the wall clock (off: outputs depend on the input alone). */
  wallClockPunctuation: boolean;
  /** The link and profile tasks take what the ingest and link tasks write in event-time order (outputs independent of how those writes interleave; costs latency). */
  writerOrder: boolean;
  /** How long a task reading a source topic waits, caught up and without input, before telling the tasks that take its writes in order not to wait on it. */
  writerIdleMs: number;
  /** The Kafka client of the tasks' producers: kafkajs, or @platformatic/kafka (group, readers and admin stay on kafkajs). */
  producerClient: ProducerClient;
  cacheEntriesPerStore: number;
  stateDir: string;
  /** `advertisedHost`: where other instances reach this one (default: the address it listens on; in Kubernetes, the pod's IP). */
  http: { host: string; port: number; advertisedHost?: string };
  profileApiTokenEnv: string;
  /**
   * The web console on this instance's HTTP port: its pages and JSON API,
   * and the reading of the engine's output topics behind them (CPU and
   * memory of its own, console/README.md). Off, neither runs.
   */
  console: boolean;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['appId', 'topicPrefix', 'partitions', 'guarantee', 'commitIntervalMs', 'sessionTimeoutMs', 'wallClockPunctuation', 'writerOrder', 'writerIdleMs', 'cacheEntriesPerStore', 'stateDir', 'http', 'profileApiTokenEnv'],
  properties: {
    appId: { type: 'string', pattern: '^[a-zA-Z0-9._-]+$' },
    topicPrefix: { type: 'string', pattern: '^[a-zA-Z0-9._-]*$' },
    partitions: { type: 'integer', minimum: 1, maximum: 1024 },
    guarantee: { enum: ['exactly_once', 'at_least_once'] },
    commitIntervalMs: { type: 'integer', minimum: 1 },
    sessionTimeoutMs: { type: 'integer', minimum: 6000, maximum: 300000 },
    wallClockPunctuation: { type: 'boolean' },
    writerOrder: { type: 'boolean' },
    writerIdleMs: { type: 'integer', minimum: 1 },
    producerClient: { enum: PRODUCER_CLIENTS },
    cacheEntriesPerStore: { type: 'integer', minimum: 0 },
    stateDir: { type: 'string', minLength: 1 },
    http: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'port'],
      properties: { host: { type: 'string' }, port: { type: 'integer', minimum: 0, maximum: 65535 }, advertisedHost: { type: 'string', minLength: 1 } },
    },
    profileApiTokenEnv: { type: 'string', minLength: 1 },
    console: { type: 'boolean' },
  },
} as const;

/** config/engine.yaml as written; environment overrides come after (loadEngineSettings). */
const engineFile: ConfigFile<EngineSettings, EngineSettings> = { name: 'engine.yaml', schema, compile: (settings) => ({ ...settings, console: settings.console ?? true, producerClient: settings.producerClient ?? 'kafkajs' }) };

const asNumber = (v: string): unknown => (/^-?[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : v);
const asBoolean = (v: string): unknown => (v === 'true' ? true : v === 'false' ? false : v);
const asText = (v: string): unknown => v;

/** Environment variable -> the setting it overrides (a JSON pointer) and how its text reads. */
const OVERRIDES: [name: string, pointer: string, read: (v: string) => unknown][] = [
  ['LP_APP_ID', '/appId', asText],
  ['LP_TOPIC_PREFIX', '/topicPrefix', asText],
  ['LP_PARTITIONS', '/partitions', asNumber],
  ['LP_GUARANTEE', '/guarantee', asText],
  ['LP_COMMIT_INTERVAL_MS', '/commitIntervalMs', asNumber],
  ['LP_SESSION_TIMEOUT_MS', '/sessionTimeoutMs', asNumber],
  ['LP_WALL_CLOCK_PUNCTUATION', '/wallClockPunctuation', asBoolean],
  ['LP_WRITER_ORDER', '/writerOrder', asBoolean],
  ['LP_WRITER_IDLE_MS', '/writerIdleMs', asNumber],
  ['LP_PRODUCER_CLIENT', '/producerClient', asText],
  ['LP_CACHE_ENTRIES', '/cacheEntriesPerStore', asNumber],
  ['LP_STATE_DIR', '/stateDir', asText],
  ['LP_HTTP_HOST', '/http/host', asText],
  ['LP_HTTP_PORT', '/http/port', asNumber],
  ['LP_HTTP_ADVERTISED_HOST', '/http/advertisedHost', asText],
  ['LP_CONSOLE', '/console', asBoolean],
];

/**
 * Reads the file, applies environment overrides, and validates the result:
 * a bad override is named by its variable, not by a line of the file.
 */
export function loadEngineSettings(file: string, env: NodeJS.ProcessEnv = process.env): EngineSettings {
  const settings = loadConfigFile(engineFile, file, undefined);
  const applied: [name: string, pointer: string][] = [];
  for (const [name, pointer, read] of OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const path = pointer.split('/').slice(1);
    const parent = path.slice(0, -1).reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, settings as unknown as Record<string, unknown>);
    parent[path[path.length - 1]!] = read(value);
    applied.push([name, pointer]);
  }
  const problem = applied.length === 0 ? undefined : schemaProblem(schema, settings);
  if (problem) {
    const setting = problem.path.slice(1).replace(/\//g, '.');
    const [name] = applied.find(([, pointer]) => problem.path === pointer) ?? [];
    if (name) throw new ConfigError(name, `the environment variable that overrides ${setting} of ${file}`, problem.problem);
    throw new ConfigError(`${file} with ${applied.map(([n]) => n).join(', ')}`, setting, problem.problem);
  }
  return settings;
}
