/**
 * npm run proof:determinism [-- --seed N] [--out DIR]
 *
 * The same simulated input (the proof suite's CI workload: 300 people, 30
 * days, four partitions) through the product four times: two clean live
 * runs, a live run with one engine killed (-9) in the middle, and the
 * in-process replay (the golden run). Prints, for each live run against the
 * replay and for the live runs against each other, the command and decision
 * ids that differ and why (a cause event re-routed from a merged-away
 * profile, a merged profile, or neither), and the decisions by outcome:
 * what issue 14 §2b asks to show; runtime/README.md ("Live versus replay")
 * says which differences remain and why. Exit 1 when an exactly-once check of a run
 * fails, else 0: the differences are reported, not judged.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { runCommand, text, usage, type Values, whole } from '../cli/args';
import { DEFAULT_CONFIG_DIR } from '../cli/app';
import { attributeDifferences, compareOutputs, type ProductOutputs } from './outputs';
import { PROFILES } from './profiles';
import { runProof, type ProofRun } from './run';

const OPTIONS = {
  seed: whole('N', 'the seed of the workload and of the kill', 7, 0),
  out: text('DIR', 'logs and report.json (default reports/determinism-<seed>)'),
};
const USAGE = usage('usage: npm run proof:determinism -- [--seed N] [--out DIR]\n', OPTIONS);

const NO_FAULTS = { kills: 0, brokerRestarts: 0, rebalances: 0, registryOutages: 0 };

interface Comparison {
  runs: string;
  commands: { reference: number; other: number; missing: number; extra: number };
  decisions: { reference: number; other: number; missing: number; extra: number };
  /** Each differing id by its reason (outputs.ts, attributeDifferences). */
  why: { rerouted: number; merged: number; neither: number; examples: string[] };
}

function compared(runs: string, reference: ProductOutputs, other: ProductOutputs): Comparison {
  const diffs = compareOutputs(reference, other);
  const of = (what: string) => {
    const d = diffs.find((x) => x.what === what)!;
    return { reference: d.golden, other: d.live, missing: d.missing.length, extra: d.extra.length };
  };
  return { runs, commands: of('command ids'), decisions: of('decision ids'), why: attributeDifferences(reference, other) };
}

async function main(values: Values<typeof OPTIONS>): Promise<number> {
  const seed = values.seed!;
  const out = resolve(values.out ?? join('reports', `determinism-${seed}`));
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const log = pino({ level: 'warn' });
  const workloadOptions = PROFILES.ci.workload;
  await mkdir(out, { recursive: true });

  const run = (name: string, kills: number): Promise<ProofRun> => {
    say(`--- ${name}`);
    return runProof({ seed, workload: workloadOptions, faults: { ...NO_FAULTS, kills }, workDir: join(out, name), configDir: DEFAULT_CONFIG_DIR, log, say });
  };
  const first = await run('clean-1', 0);
  const second = await run('clean-2', 0);
  const killed = await run('kill-9', 1);
  const comparisons = [
    compared('replay vs clean-1', first.outputs.golden, first.outputs.live),
    compared('replay vs clean-2', second.outputs.golden, second.outputs.live),
    compared(`replay vs kill-9 (${killed.faults.map((f) => f.detail).join('; ')})`, killed.outputs.golden, killed.outputs.live),
    compared('clean-1 vs clean-2', first.outputs.live, second.outputs.live),
    compared('clean-1 vs kill-9', first.outputs.live, killed.outputs.live),
  ];
  const eos = [first, second, killed].flatMap((r) => r.findings.filter((f) => !f.ok).map((f) => `${r.appId}: ${f.check}: ${f.detail}`));
  const lines = [
    `seed ${seed}: ${first.touchpoints} touchpoints, ${workloadOptions.people} people, ${workloadOptions.days} days, ${workloadOptions.partitions} partitions`,
    ...comparisons.map(
      (c) =>
        `${c.runs}: commands ${c.commands.reference} / ${c.commands.other} (missing ${c.commands.missing}, extra ${c.commands.extra}); ` +
        `decisions ${c.decisions.reference} / ${c.decisions.other} (missing ${c.decisions.missing}, extra ${c.decisions.extra}); ` +
        `differing ids: ${c.why.rerouted} with a cause event re-routed, ${c.why.merged} of a merged profile, ${c.why.neither} neither`,
    ),
    `decisions by outcome, replay: ${JSON.stringify(first.decisionOutcomes.golden)}`,
    ...[first, second, killed].map((r, i) => `decisions by outcome, ${['clean-1', 'clean-2', 'kill-9'][i]}: ${JSON.stringify(r.decisionOutcomes.live)}`),
    eos.length === 0 ? 'exactly-once: every check held in every run' : `exactly-once problems:\n  ${eos.join('\n  ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  await writeFile(join(out, 'report.json'), JSON.stringify({ seed, comparisons }, null, 2));
  say(`report: ${join(out, 'report.json')}`);
  return eos.length === 0 ? 0 : 1;
}

runCommand(OPTIONS, USAGE, main);
