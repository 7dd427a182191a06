/**
 * npm run proof [-- --profile long|ci] [--seed N] [--broker-restarts N] [--out DIR]
 *
 * The proof suite on the local stack: the product under kill -9, a broker
 * restart, a rebalance and a registry outage (faults drawn from the seed),
 * then thousands of hostile records. Prints the seed first: a failure is
 * reproduced with the same --seed. Exit 0 when everything is proven, 1 when
 * a check fails, 2 on a usage error.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { custom, runCommand, text, usage, UsageError, type Values, whole } from '../cli/args';
import { DEFAULT_CONFIG_DIR } from '../cli/app';
import { runHostile } from './hostile-run';
import { PROFILES } from './profiles';
import { describeFaultRun, describeHostileRun, faultRunProblems, hostileRunProblems } from './report';
import { runProof } from './run';

const OPTIONS = {
  profile: custom(
    'long|ci',
    'long: 200k touchpoints, 10 kills, 2 broker restarts, 2 rebalances, a registry outage,\n50k hostile records; ci (what npm test runs): 18k touchpoints, 3 kills, a broker\nrestart, a rebalance, a registry outage, 10k hostile records',
    (text, name): 'long' | 'ci' => {
      if (text === undefined || text === 'long' || text === 'ci') return text ?? 'long';
      throw new UsageError(`--${name} ${text}: expected long or ci`);
    },
    'long',
  ),
  seed: whole('N', 'the seed of the workload and of the fault plan (default: a random one, printed)', undefined, 0),
  'broker-restarts': whole('N', "instead of the profile's count", undefined, 0),
  out: text('DIR', 'logs, engine state and report.json (default reports/proof-<seed>)'),
};

const USAGE = usage('usage: npm run proof -- [--profile long|ci] [--seed N] [--broker-restarts N] [--out DIR]\n', OPTIONS);

async function main(values: Values<typeof OPTIONS>): Promise<number> {
  const seed = values.seed ?? Math.floor(Math.random() * 1_000_000);
  const options = { profile: values.profile, seed, brokerRestarts: values['broker-restarts'], out: resolve(values.out ?? join('reports', `proof-${seed}`)) };
  const chosen = PROFILES[options.profile];
  const profile = { ...chosen, faults: { ...chosen.faults, brokerRestarts: options.brokerRestarts ?? chosen.faults.brokerRestarts } };
  const log = pino({ level: 'warn' });
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(`proof: profile ${options.profile}, seed ${options.seed} (again: npm run proof -- --profile ${options.profile} --seed ${options.seed} --broker-restarts ${profile.faults.brokerRestarts})`);
  await mkdir(options.out, { recursive: true });
  const run = await runProof({ seed: options.seed, workload: profile.workload, faults: profile.faults, workDir: join(options.out, 'faults'), configDir: DEFAULT_CONFIG_DIR, log, say });
  const hostile = await runHostile({ seed: options.seed, count: profile.hostileRecords, valid: 2_000, partitions: profile.workload.partitions, workDir: join(options.out, 'hostile'), configDir: DEFAULT_CONFIG_DIR, log, say });
  const planned = Object.values(profile.faults).reduce((a, b) => a + b, 0);
  const problems = [...faultRunProblems(run, planned), ...hostileRunProblems(hostile)];
  const lines = [...describeFaultRun(run), ...describeHostileRun(hostile), problems.length === 0 ? 'PROVEN: every check held' : `FAILED: ${problems.length} problems`, ...problems.map((p) => `  ${p}`)];
  process.stdout.write(`${lines.join('\n')}\n`);
  const { live: _live, outputs: _outputs, ...report } = run;
  await writeFile(join(options.out, 'report.json'), JSON.stringify({ profile: options.profile, run: report, hostile, problems }, null, 2));
  say(`report: ${join(options.out, 'report.json')}`);
  return problems.length === 0 ? 0 : 1;
}

runCommand(OPTIONS, USAGE, main);
