import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_KAFKA_USER, securedEndpoint, stackEndpoints } from '../../local-stack/settings';
import { topicNames } from '../../topology';
import { caughtUp, connectedAdmin, uniqueName } from '../support/kafka';
import { TEST_LOGS } from '../support/logs';
import { eventually, killAll, startCommand, stopProcess } from '../support/processes';

/**
 * The product on a secured cluster: the local stack's TLS + SASL listener
 * (a certificate the stack made with keytool, SCRAM users created when its
 * storage was formatted) and a schema registry behind basic auth (a proxy
 * here, as Apicurio runs open locally). Topics are created, a simulated
 * population is produced and the engine processes it, each through those
 * alone; secrets never reach a log line or /metrics; wrong credentials end
 * start-up with one clear error instead of retrying.
 */
jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const { admin } = connectedAdmin();
const REGISTRY_USER = { username: 'lp-registry', password: 'registry-secret-7f3a' };
const SECRETS = {
  LP_KAFKA_SASL_PASSWORD: LOCAL_KAFKA_USER.password,
  LP_REGISTRY_PASSWORD: REGISTRY_USER.password,
  LP_IDENTITY_SECRET: 'identity-secret-0b6e2c9d41',
  LP_PROFILE_API_TOKEN: 'api-token-93d0a7e5',
};

/** A registry that wants basic auth: forwards authorised requests to the local stack's, refuses the rest. */
class BasicAuthRegistry {
  authorised = 0;
  refused = 0;
  private server?: Server;

  async start(): Promise<string> {
    const expected = `Basic ${Buffer.from(`${REGISTRY_USER.username}:${REGISTRY_USER.password}`).toString('base64')}`;
    const target = stackEndpoints().registryUrl;
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      if (request.headers.authorization !== expected) {
        this.refused++;
        response.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
        return;
      }
      this.authorised++;
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
        fetch(`${target}${request.url!.replace(/^\/apis\/ccompat\/v7/, '')}`, { method: request.method, headers: { 'content-type': request.headers['content-type'] ?? 'application/json' }, body })
          .then(async (answer) => response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer())))
          .catch(() => response.writeHead(502).end());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/apis/ccompat/v7`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const registry = new BasicAuthRegistry();
let registryUrl: string;

beforeAll(async () => {
  registryUrl = await registry.start();
});

afterAll(async () => {
  await killAll();
  await registry.close();
});

function securedEnv(name: string, overrides: Record<string, string> = {}): Record<string, string> {
  const endpoint = securedEndpoint();
  return {
    LP_KAFKA_BROKERS: endpoint.brokers.join(','),
    LP_KAFKA_SSL_CA_FILE: endpoint.caFile,
    LP_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    LP_KAFKA_SASL_USERNAME: LOCAL_KAFKA_USER.username,
    LP_REGISTRY_URL: registryUrl,
    LP_REGISTRY_USERNAME: REGISTRY_USER.username,
    ...SECRETS,
    LP_APP_ID: name,
    LP_TOPIC_PREFIX: `${name}.`,
    LP_HTTP_PORT: '0',
    LP_PARTITIONS: '2',
    ...overrides,
  };
}

function startEngine(env: Record<string, string>, logFile: string) {
  return startCommand([process.execPath, '--import', 'tsx', join(ROOT, 'cli', 'listening-post.ts'), 'run'], { cwd: ROOT, env, logFile });
}

function cli(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'listening-post.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
}

test('topics, a simulated population and the engine go through TLS, SCRAM and an authenticated registry, and no secret is written anywhere', async () => {
  const name = uniqueName('secured');
  const env = securedEnv(name, { LP_STATE_DIR: await mkdtemp(join(tmpdir(), 'lp-secured-')) });
  expect((await cli(['topics', 'create'], env)).stdout).toMatch(/schema\s+.*touchpoints\.raw-value/);
  const topics = topicNames(`${name}.`);
  await run(process.execPath, ['--import', 'tsx', join(ROOT, 'simulator', 'cli.ts'), '--people', '40', '--days', '2', '--topic', topics.raw, '--quiet'], { cwd: ROOT, env: { ...process.env, ...env } });
  const produced = Number((await admin.fetchTopicOffsets(topics.raw)).reduce((sum, p) => sum + Number(p.high), 0));
  expect(produced).toBeGreaterThan(0);

  const logFile = join(TEST_LOGS, `${name}.log`);
  const engine = await startEngine(env, logFile);
  await eventually(async () => (await caughtUp(admin, name, topics.raw)) && (await caughtUp(admin, name, topics.resolved)), 'every touchpoint processed through the secured listener');
  const listening = JSON.parse(readFileSync(logFile, 'utf8').split('\n').find((line) => line.includes('"msg":"listening"'))!) as { http: string };
  const metrics = await (await fetch(`${listening.http}/metrics`)).text();
  expect(metrics).toMatch(/lp_records_in_total/);
  expect(await stopProcess(engine, 'SIGTERM')).toBe(0);
  expect(registry.authorised).toBeGreaterThan(0);

  const written = readFileSync(logFile, 'utf8') + metrics;
  for (const [variable, secret] of Object.entries(SECRETS)) expect({ variable, found: written.includes(secret) }).toEqual({ variable, found: false });
});

test.each(['plain', 'scram-sha-256'])('%s works as well (topics created through the secured listener)', async (mechanism) => {
  const name = uniqueName(`secured-${mechanism}`);
  const { stdout } = await cli(['topics', 'create'], securedEnv(name, { LP_KAFKA_SASL_MECHANISM: mechanism }));
  expect(stdout).toMatch(new RegExp(`created\\s+${name.replace(/[.-]/g, '\\$&')}\\.touchpoints\\.raw`));
});

test('wrong Kafka credentials end start-up with one clear error line, without retrying or printing the password', async () => {
  const name = uniqueName('secured-wrong');
  const wrong = 'not-the-password-51c2';
  const env = securedEnv(name, { LP_KAFKA_SASL_PASSWORD: wrong, LP_STATE_DIR: await mkdtemp(join(tmpdir(), 'lp-secured-')) });
  const started = Date.now();
  const failure = await cli(['topics', 'create'], env).then(
    () => undefined,
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  expect(failure?.code).toBe(1);
  const lines = failure!.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: Kafka refused the credentials: .*SCRAM.*\(127\.0\.0\.1:\d+ \(TLS, SASL SCRAM-SHA-512 as 'lp'\)\)$/);
  expect(failure!.stderr + failure!.stdout).not.toContain(wrong);
  expect(Date.now() - started).toBeLessThan(30_000);

  const logFile = join(TEST_LOGS, `${name}.log`);
  const engine = await startEngine(env, logFile);
  const code = await new Promise<number | null>((resolve) => engine.once('exit', resolve));
  expect(code).toBe(1);
  const log = readFileSync(logFile, 'utf8');
  expect(log).toMatch(/error: Kafka refused the credentials/);
  expect(log).not.toMatch(/waiting for Kafka/);
  expect(log).not.toContain(wrong);
});

test('a registry that refuses the credentials stops start-up with its answer', async () => {
  const name = uniqueName('secured-registry');
  const env = securedEnv(name, { LP_REGISTRY_PASSWORD: 'wrong-registry-password' });
  const failure = await cli(['topics', 'create'], env).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  expect(failure?.code).toBe(1);
  expect(failure!.stderr).toMatch(/401/);
  expect(failure!.stderr).not.toContain('wrong-registry-password');
});
