import { execFileSync, execSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackEndpoints } from '../../local-stack/settings';
import { TEST_LOGS } from '../support/logs';
import { uniqueName } from '../support/kafka';
import { eventually, killAll, startCommand, stopProcess } from '../support/processes';

/**
 * No image can be built here (no container runtime), so this runs the
 * install and start steps of deploy/Containerfile in a temporary directory:
 * production dependencies only, the compiled JavaScript, plain `node`, the
 * file's own ENV, ENTRYPOINT and CMD. The steps it cannot run outside a
 * container (the npm cache clean-up, the state volume's owner) are named,
 * so that a new step in the file fails here until this test runs it too.
 */
jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');

interface Stage {
  from: string;
  run: string[];
  env: Record<string, string>;
  copies: string[];
  entrypoint: string[];
  cmd: string[];
}

/** The stages of a Containerfile, with the instructions this test uses (line continuations joined). */
function stages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const result: Stage[] = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (instruction === 'FROM') {
      result.push({ from: args, run: [], env: {}, copies: [], entrypoint: [], cmd: [] });
      continue;
    }
    const stage = result[result.length - 1]!;
    if (instruction === 'RUN') stage.run.push(args);
    if (instruction === 'COPY') stage.copies.push(args);
    if (instruction === 'ENV') for (const pair of rest) stage.env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
    if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(args) as string[];
    if (instruction === 'CMD') stage.cmd = JSON.parse(args) as string[];
  }
  return result;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

afterAll(() => killAll());

test('the image\'s install and start steps give a working engine on plain node, with production dependencies only', async () => {
  const [build, runtime] = stages(readFileSync(join(ROOT, 'deploy', 'Containerfile'), 'utf8'));
  expect(build!.run).toEqual(['npm ci --no-audit --no-fund', 'npm run build']);
  expect(runtime!.copies).toEqual(['package.json package-lock.json ./', '--from=build /app/dist ./dist']);
  expect(runtime!.run).toEqual([
    'npm ci --omit=dev --no-audit --no-fund && npm cache clean --force', // the clean-up only shrinks the image
    'mkdir -p /var/lib/listening-post && chown node:node /var/lib/listening-post', // the state volume, for the non-root user
  ]);

  // The build stage's last step, here in the repository (its dependencies are installed already).
  execSync('npm run build', { cwd: ROOT, stdio: 'pipe' });
  // The runtime stage: its COPYs, then its install.
  const app = mkdtempSync(join(tmpdir(), 'lp-image-'));
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(app, file));
  execSync(runtime!.run[0]!.split(' && ')[0]!, { cwd: app, stdio: 'pipe' });
  cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  const installed = JSON.parse(execFileSync('npm', ['ls', '--omit=dev', '--depth=0', '--json'], { cwd: app, encoding: 'utf8' })) as { dependencies: Record<string, unknown> };
  const declared = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  expect(Object.keys(installed.dependencies).sort()).toEqual(Object.keys(declared.dependencies).sort());
  expect(() => execFileSync('node', ['-e', 'require.resolve("tsx")'], { cwd: app, stdio: 'pipe' })).toThrow();

  const entrypoint = runtime!.entrypoint;
  expect(execFileSync(entrypoint[0]!, [...entrypoint.slice(1), '--help'], { cwd: app, encoding: 'utf8' })).toMatch(/rules check <dir>/);
  expect(execFileSync(entrypoint[0]!, [...entrypoint.slice(1), 'asyncapi'], { cwd: app, encoding: 'utf8' })).toMatch(/^asyncapi: 3\.0\.0\ninfo:\n {2}title: Listening Post\n {2}version: \d+\.\d+\.\d+/);
  expect(execFileSync(entrypoint[0]!, [...entrypoint.slice(1), 'rules', 'check', 'dist/config'], { cwd: app, encoding: 'utf8' })).toMatch(/^ok: .*dist\/config \(\d+ scores, \d+ segments, \d+ triggers\)/);
  const badRules = mkdtempSync(join(tmpdir(), 'lp-rules-'));
  cpSync(join(app, 'dist', 'config'), badRules, { recursive: true, filter: (source) => !source.endsWith('.js') && !source.endsWith('.map') });
  writeFileSync(join(badRules, 'segments.yaml'), readFileSync(join(badRules, 'segments.yaml'), 'utf8').replace(/score: (\w+)/, 'score: no_such_score'));
  const refused = (() => {
    try {
      execFileSync(entrypoint[0]!, [...entrypoint.slice(1), 'rules', 'check', badRules], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
      return undefined;
    } catch (error) {
      return error as { status: number; stderr: string };
    }
  })();
  expect(refused?.status).toBe(1);
  expect(refused?.stderr).toMatch(/segments\.yaml.*no_such_score/);

  // Start as the image does: its ENV, ENTRYPOINT and CMD, pointed at the local stack, state in a directory of its own.
  const port = await freePort();
  const stateDir = join(app, 'state');
  mkdirSync(stateDir);
  const name = uniqueName('image');
  const env = {
    ...runtime!.env,
    LP_STATE_DIR: stateDir,
    LP_HTTP_HOST: '127.0.0.1',
    LP_HTTP_PORT: String(port),
    LP_IDENTITY_SECRET: 'a-test-secret-of-enough-length-0123456789',
    LP_APP_ID: name,
    LP_TOPIC_PREFIX: `${name}.`,
    LP_KAFKA_BROKERS: stackEndpoints().brokers.join(','),
    LP_REGISTRY_URL: stackEndpoints().registryUrl,
  };
  expect(runtime!.env).toMatchObject({ NODE_ENV: 'production', LP_STATE_DIR: '/var/lib/listening-post', LP_HTTP_HOST: '0.0.0.0' });
  execFileSync(entrypoint[0]!, [...entrypoint.slice(1), 'topics', 'create'], { cwd: app, env: { ...process.env, ...env }, stdio: 'pipe' });
  const engine = await startCommand([...entrypoint, ...runtime!.cmd], { cwd: app, env, logFile: join(TEST_LOGS, `${name}.log`) });
  await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 'the engine ready on /readyz');
  expect(await stopProcess(engine, 'SIGTERM')).toBe(0);
});
