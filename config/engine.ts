import { loadConfig, parseConfig } from './load';

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
  cacheEntriesPerStore: number;
  stateDir: string;
  /** `advertisedHost`: where other instances reach this one (default: the address it listens on; in Kubernetes, the pod's IP). */
  http: { host: string; port: number; advertisedHost?: string };
  profileApiTokenEnv: string;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['appId', 'topicPrefix', 'partitions', 'guarantee', 'commitIntervalMs', 'sessionTimeoutMs', 'wallClockPunctuation', 'cacheEntriesPerStore', 'stateDir', 'http', 'profileApiTokenEnv'],
  properties: {
    appId: { type: 'string', pattern: '^[a-zA-Z0-9._-]+$' },
    topicPrefix: { type: 'string', pattern: '^[a-zA-Z0-9._-]*$' },
    partitions: { type: 'integer', minimum: 1, maximum: 1024 },
    guarantee: { enum: ['exactly_once', 'at_least_once'] },
    commitIntervalMs: { type: 'integer', minimum: 1 },
    sessionTimeoutMs: { type: 'integer', minimum: 6000, maximum: 300000 },
    wallClockPunctuation: { type: 'boolean' },
    cacheEntriesPerStore: { type: 'integer', minimum: 0 },
    stateDir: { type: 'string', minLength: 1 },
    http: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'port'],
      properties: { host: { type: 'string' }, port: { type: 'integer', minimum: 0, maximum: 65535 }, advertisedHost: { type: 'string', minLength: 1 } },
    },
    profileApiTokenEnv: { type: 'string', minLength: 1 },
  },
} as const;

const OVERRIDES: [keyof NodeJS.ProcessEnv, (s: EngineSettings, v: string) => void][] = [
  ['LP_APP_ID', (s, v) => (s.appId = v)],
  ['LP_TOPIC_PREFIX', (s, v) => (s.topicPrefix = v)],
  ['LP_PARTITIONS', (s, v) => (s.partitions = Number(v))],
  ['LP_GUARANTEE', (s, v) => (s.guarantee = v as EngineSettings['guarantee'])],
  ['LP_COMMIT_INTERVAL_MS', (s, v) => (s.commitIntervalMs = Number(v))],
  ['LP_SESSION_TIMEOUT_MS', (s, v) => (s.sessionTimeoutMs = Number(v))],
  ['LP_WALL_CLOCK_PUNCTUATION', (s, v) => (s.wallClockPunctuation = (v === 'true' ? true : v === 'false' ? false : v) as boolean)],
  ['LP_CACHE_ENTRIES', (s, v) => (s.cacheEntriesPerStore = Number(v))],
  ['LP_STATE_DIR', (s, v) => (s.stateDir = v)],
  ['LP_HTTP_HOST', (s, v) => (s.http.host = v)],
  ['LP_HTTP_PORT', (s, v) => (s.http.port = Number(v))],
  ['LP_HTTP_ADVERTISED_HOST', (s, v) => (s.http.advertisedHost = v)],
];

/** Reads the file, applies environment overrides, and validates the result (so a bad override is named too). */
export function loadEngineSettings(file: string, env: NodeJS.ProcessEnv = process.env): EngineSettings {
  const fromFile = loadConfig<EngineSettings>(file, schema);
  const applied: string[] = [];
  for (const [name, apply] of OVERRIDES) {
    const value = env[name as string];
    if (value !== undefined && value !== '') {
      apply(fromFile, value);
      applied.push(String(name));
    }
  }
  if (applied.length === 0) return fromFile;
  return parseConfig<EngineSettings>(`${file} with ${applied.join(', ')}`, JSON.stringify(fromFile), schema);
}
