import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNdjsonFile, type ReplayReport } from '../../../replay';
import { eventually } from '../../support/processes';
import { T0, tp } from '../../support/product';
import { bankDay, testRules, variantRules } from './scenario';

/** `npm run replay` as a user runs it: files in, reports out, usage errors, and Ctrl-C. */
jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..', '..');

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

function cli(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'replay.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { child, stdout: '', stderr: '', exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `lp-replay-cli-${name}-`));

describe('the replay command', () => {
  it('replays a file with the baseline and a variant and writes report.json and report.html', async () => {
    const dir = tmp('run');
    const input = join(dir, 'day.ndjson');
    await writeNdjsonFile(input, bankDay().touchpoints);
    const base = testRules();
    const out = join(dir, 'out');
    const state = join(dir, 'state');
    const run = cli(['--input', input, '--baseline', base, '--rules', variantRules(base), '--out', out, '--state-dir', state, '--settle', '2m']);
    expect(await run.exit).toBe(0);
    expect(run.stdout).toContain('replayed 30 touchpoints');
    expect(run.stdout).toContain('variant vs baseline: 4 commands lost, 2 gained');
    expect(run.stderr).toContain('100%');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReplayReport;
    expect(report.complete).toBe(true);
    expect(report.variants.map((v) => [v.name, v.totals.commands])).toEqual([
      ['baseline', 4],
      ['variant', 2],
    ]);
    expect(report.settings).toMatchObject({ settleMs: 120_000, state: 'rocksdb' });
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg class="chart"');
    // its own state, removed afterwards
    expect(existsSync(state)).toBe(false);
  });

  it.each([
    [[], 'give either --from and --to (a topic range) or --input FILE'],
    [['--from', '2026-10-01T00:00:00Z'], 'a topic range needs both --from and --to'],
    [['--input', 'x.ndjson', '--from', '2026-10-01T00:00:00Z', '--to', '2026-10-02T00:00:00Z'], 'give either'],
    [['--input', 'x.ndjson', '--warmup', '7d'], '--topic and --warmup select a topic range'],
    [['--input', 'x.ndjson', '--settle', 'soon'], '--settle soon: not a duration'],
    [['--input', 'x.ndjson', '--batch', '0'], '--batch 0: expected a whole number >= 1'],
    [['--from', 'yesterday', '--to', '2026-10-02T00:00:00Z'], '--from yesterday: not an ISO-8601 time'],
    [['--input', 'x.ndjson', '--output-prefix', ''], '--output-prefix must not be empty'],
    [['--input', 'x.ndjson', '--bogus'], "Unknown option '--bogus'"],
  ])('refuses %j with a usage error', async (args, message) => {
    const run = cli(args);
    const code = await run.exit;
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: npm run replay');
    expect(code).toBe(2);
  });

  it('names the rule file at fault', async () => {
    const rules = tmp('rules');
    writeFileSync(join(rules, 'segments.yaml'), 'segments: [');
    const run = cli(['--input', 'x.ndjson', '--rules', rules]);
    expect(await run.exit).toBe(1);
    expect(run.stderr).toContain(`error: ${join(rules, 'segments.yaml')}: line 1`);
  });

  it('stops on Ctrl-C, writes a partial report and says so', async () => {
    const dir = tmp('stop');
    const input = join(dir, 'long.ndjson');
    // many anonymous page views, 10 ms apart: long enough to be interrupted
    const lines: string[] = [];
    for (let i = 0; i < 120_000; i++) lines.push(JSON.stringify(tp(T0 + i * 10, 'web', 'page_view', { anonymous_id: `v-${i % 5000}` }, { sessionId: `s-${i % 5000}` })));
    writeFileSync(input, `${lines.join('\n')}\n`);
    const out = join(dir, 'out');
    const run = cli(['--input', input, '--out', out, '--state-dir', join(dir, 'state')]);
    // the first progress line: it is replaying
    await eventually(async () => /replay {2}\[[█░]+\]\s+\d+%/.test(run.stderr) || (run.child.exitCode !== null && 'exited'), 'the replay to report progress', 60_000);
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(run.stderr).toContain('stopping: finishing the batch in hand');
    expect(run.stdout).toContain('STOPPED EARLY, partial report');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReplayReport;
    expect(report.complete).toBe(false);
    expect(report.input.records).toBeGreaterThan(0);
    expect(report.input.records).toBeLessThan(120_000);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('Partial report');
  });
});
