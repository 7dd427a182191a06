import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the local stack lives and listens. Every value can be changed by an
 * environment variable so that two checkouts (or CI and a developer) can run
 * side by side.
 */
export interface StackSettings {
  kafkaPort: number;
  controllerPort: number;
  /** The secured listener: TLS with a certificate the stack makes, SASL (PLAIN, SCRAM-SHA-256/512). */
  securePort: number;
  registryPort: number;
  /** Downloads and installed artifacts; survives `stack:down`. */
  cacheDir: string;
  /** Broker data, logs and pid files of the running stack. */
  stateDir: string;
  kafkaHeap: string;
  registryHeap: string;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name}=${raw} is not a TCP port: use a whole number from 1 to 65535`);
  }
  return value;
}

export function stackSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const cacheRoot = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const stateRoot = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  const kafkaPort = port(env, 'LP_KAFKA_PORT', 19092);
  return {
    kafkaPort,
    controllerPort: port(env, 'LP_KAFKA_CONTROLLER_PORT', 19093),
    securePort: port(env, 'LP_KAFKA_SECURE_PORT', kafkaPort + 2),
    registryPort: port(env, 'LP_REGISTRY_PORT', 18081),
    cacheDir: env.LP_CACHE_DIR || join(cacheRoot, 'listening-post'),
    stateDir: env.LP_STACK_DIR || join(stateRoot, 'listening-post', 'stack'),
    kafkaHeap: env.LP_KAFKA_HEAP || '768m',
    registryHeap: env.LP_REGISTRY_HEAP || '384m',
  };
}

/** How clients (the engine, tests, tools) reach the stack. */
export interface StackEndpoints {
  brokers: string[];
  registryUrl: string;
}

export function stackEndpoints(env: NodeJS.ProcessEnv = process.env): StackEndpoints {
  const settings = stackSettings(env);
  return {
    brokers: (env.LP_KAFKA_BROKERS || `127.0.0.1:${settings.kafkaPort}`).split(','),
    registryUrl: env.LP_REGISTRY_URL || `http://127.0.0.1:${settings.registryPort}/apis/ccompat/v7`,
  };
}

/**
 * The local stack's secured listener and the one user it knows (for every
 * mechanism): a development credential, like the development HMAC key.
 * The CA file is the broker's self-signed certificate, made with the JDK's
 * keytool when the stack first starts.
 */
export const LOCAL_KAFKA_USER = { username: 'lp', password: 'lp-local-secret' } as const;

export function securedEndpoint(settings: StackSettings = stackSettings()): { brokers: string[]; caFile: string } {
  return { brokers: [`127.0.0.1:${settings.securePort}`], caFile: join(settings.stateDir, 'tls', 'ca.pem') };
}
