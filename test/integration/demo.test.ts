import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { freePort } from '../../proof/fleet';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FinalReport } from '../../demo/screen';
import { eventually } from '../support/processes';

/**
 * `npm run demo` on the real stack, small and short: a simulated population
 * through the whole engine and back (the people answer its commands), the
 * engine ready while it runs, a clean exit, and a final summary that the
 * engine's outputs and its identity graph (not the simulator's intentions)
 * back up.
 */
jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..');

describe('the demo', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('runs the product against a simulated population, stays ready, and exits 0 with a summary backed by the outputs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lp-demo-test-'));
    const summaryFile = join(dir, 'summary.json');
    const port = await freePort();
    let output = '';
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'demo', 'main.ts'), '--people', '500', '--rate', '5000', '--duration', '15', '--drain', '20', '--plain', '--summary-json', summaryFile],
      { cwd: ROOT, env: { ...process.env, LP_HTTP_PORT: String(port), LP_PROFILE_API_TOKEN: 'demo-test-token' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    // Ready while it runs: /readyz answers 200 before the demo ends.
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));
    await eventually(
      async () => {
        if (exitedEarly) throw new Error(`the demo exited before /readyz was 200:\n${output}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
      },
      'the engine of the demo to be ready',
      60_000,
    );

    const code = await exited;
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    const report = JSON.parse(await readFile(summaryFile, 'utf8')) as FinalReport;
    const { status } = report;
    expect(status.touchpoints.processed).toBeGreaterThan(0);
    expect(status.touchpoints.processed).toBe(status.touchpoints.produced);
    expect(status.outputs.profiles.total).toBeGreaterThan(0);
    expect(status.outputs.commands).toBeGreaterThanOrEqual(1);
    expect(report.identity).not.toBeNull();
    expect(report.identity!.person.precision).toBeGreaterThanOrEqual(0.99);
    // The same numbers are on the screen.
    expect(output).toContain(`${status.touchpoints.processed.toLocaleString('en-US')} processed (committed)`);
    expect(output).toMatch(/identity {5}pairwise precision 1\.0000|identity {5}pairwise precision 0\.99/);
  });
});
