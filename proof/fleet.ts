import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export interface FleetOptions {
  appId: string;
  topicPrefix: string;
  partitions: number;
  brokers: string[];
  registryUrl: string;
  /** Each instance's state lives in <stateRoot>/<name>; its log in <logDir>/<name>.log. */
  stateRoot: string;
  logDir: string;
  commitIntervalMs: number;
  sessionTimeoutMs: number;
  /** Extra environment for every instance (e.g. the profile API token). */
  env?: Record<string, string>;
}

export interface Instance {
  name: string;
  url: string;
  stateDir: string;
  logFile: string;
  process: ChildProcess;
}

export interface Probe {
  ok: boolean;
  body: Record<string, unknown>;
}

/**
 * Engine instances of one application as separate processes (cli/
 * listening-post.ts run), as a platform team runs them: one consumer group,
 * each with its own state directory and HTTP port. Wall-clock punctuation
 * is off, so what each task writes depends on its input alone and a run
 * can be checked against a re-run of that input.
 */
export class Fleet {
  private readonly instances = new Map<string, Instance>();

  constructor(private readonly options: FleetOptions) {}

  get running(): Instance[] {
    return [...this.instances.values()].filter((i) => i.process.exitCode === null && i.process.signalCode === null);
  }

  /** Every state directory and log file an instance of this fleet has used. */
  get stateDirs(): string[] {
    return [...this.instances.values()].map((i) => i.stateDir);
  }

  get logFiles(): string[] {
    return [...this.instances.values()].map((i) => i.logFile);
  }

  instance(name: string): Instance {
    const instance = this.instances.get(name);
    if (!instance) throw new Error(`no instance named ${name}`);
    return instance;
  }

  /** Starts an instance (again, with the state it left, unless `freshState`). */
  async start(name: string, options: { freshState?: boolean } = {}): Promise<Instance> {
    const previous = this.instances.get(name);
    if (previous && previous.process.exitCode === null && previous.process.signalCode === null) throw new Error(`${name} is still running`);
    const stateDir = join(this.options.stateRoot, name);
    if (options.freshState) await rm(stateDir, { recursive: true, force: true });
    await mkdir(stateDir, { recursive: true });
    await mkdir(this.options.logDir, { recursive: true });
    const port = await freePort();
    const logFile = join(this.options.logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'listening-post.ts'), 'run'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...this.options.env,
        LP_APP_ID: this.options.appId,
        LP_TOPIC_PREFIX: this.options.topicPrefix,
        LP_PARTITIONS: String(this.options.partitions),
        LP_KAFKA_BROKERS: this.options.brokers.join(','),
        LP_REGISTRY_URL: this.options.registryUrl,
        LP_STATE_DIR: stateDir,
        LP_HTTP_HOST: '127.0.0.1',
        LP_HTTP_PORT: String(port),
        LP_COMMIT_INTERVAL_MS: String(this.options.commitIntervalMs),
        LP_SESSION_TIMEOUT_MS: String(this.options.sessionTimeoutMs),
        LP_WALL_CLOCK_PUNCTUATION: 'false',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const instance: Instance = { name, url: `http://127.0.0.1:${port}`, stateDir, logFile, process: child };
    this.instances.set(name, instance);
    return instance;
  }

  /** kill -9: no shutdown hook runs, open transactions stay open until the next owner fences them. */
  kill(name: string): Promise<void> {
    return this.signal(name, 'SIGKILL');
  }

  /** A graceful stop: finish the batch, commit, leave the group. */
  stop(name: string): Promise<void> {
    return this.signal(name, 'SIGTERM');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.map((i) => this.stop(i.name)));
  }

  async killAll(): Promise<void> {
    await Promise.all(this.running.map((i) => this.kill(i.name)));
  }

  /** /readyz or /healthz of an instance; undefined while it does not answer (starting, or gone). */
  async probe(name: string, path: '/readyz' | '/healthz'): Promise<Probe | undefined> {
    try {
      const response = await fetch(`${this.instance(name).url}${path}`, { signal: AbortSignal.timeout(2_000) });
      return { ok: response.ok, body: (await response.json()) as Record<string, unknown> };
    } catch {
      return undefined;
    }
  }

  private signal(name: string, signal: NodeJS.Signals): Promise<void> {
    const { process: child } = this.instance(name);
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}

/** A port nothing listens on now (the OS picks it), for an instance's HTTP server. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
