import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_DIR } from '../../cli/app';
import { runHostile } from '../../proof/hostile-run';
import { PROFILES } from '../../proof/profiles';
import { describeFaultRun, describeHostileRun, faultRunProblems, hostileRunProblems } from '../../proof/report';
import { runProof } from '../../proof/run';
import { testLog } from '../support/logs';

/**
 * The proof suite's CI profile (npm run proof runs the long one): the whole
 * product in engine processes on the real stack, under kill -9, a broker
 * restart, a rebalance and a registry outage drawn from a seed, then 10,000
 * hostile records. A failure prints its seed; LP_PROOF_SEED=<seed> runs the
 * same plan again.
 */
jest.setTimeout(1_200_000);

const seed = Number(process.env.LP_PROOF_SEED ?? Math.floor(Math.random() * 1_000_000));
const profile = PROFILES.ci;
const say = (line: string) => process.stderr.write(`${line}\n`);

describe(`proof (CI profile, seed ${seed})`, () => {
  beforeAll(() => say(`proof seed ${seed}: LP_PROOF_SEED=${seed} npx jest test/integration/proof.test.ts reproduces it`));

  it('loses, repeats and invents nothing through kill -9, a broker restart, a rebalance and a registry outage, and leaves no raw PII anywhere', async () => {
    const run = await runProof({
      seed,
      workload: profile.workload,
      faults: profile.faults,
      workDir: await mkdtemp(join(tmpdir(), `lp-proof-${seed}-`)),
      configDir: DEFAULT_CONFIG_DIR,
      log: testLog(`proof-${seed}`),
      say,
    });
    say(describeFaultRun(run).join('\n'));
    const kinds = run.faults.map((f) => f.fault.split(' ')[0]);
    expect(kinds.filter((k) => k === 'kill').length).toBeGreaterThanOrEqual(3);
    expect(run.faults.some((f) => f.fault.startsWith('broker'))).toBe(true);
    expect(run.faults.some((f) => f.fault.startsWith('a third instance') && /restoring|not ready/.test(f.detail) && f.detail.includes('ready'))).toBe(true);
    expect(run.faults.some((f) => f.fault.startsWith('registry') && /registry-unavailable|waiting for .*schema registry/.test(f.detail))).toBe(true);
    expect(faultRunProblems(run, Object.values(profile.faults).reduce((a, b) => a + b, 0))).toEqual([]);
  });

  it('dead-letters 10,000 hostile records of every kind with their bytes and a reason, stays ready, and processes the valid touchpoints after them', async () => {
    const run = await runHostile({
      seed,
      count: profile.hostileRecords,
      valid: 2_000,
      partitions: profile.workload.partitions,
      workDir: await mkdtemp(join(tmpdir(), `lp-hostile-${seed}-`)),
      configDir: DEFAULT_CONFIG_DIR,
      log: testLog(`hostile-${seed}`),
      say,
    });
    say(describeHostileRun(run).join('\n'));
    expect(Object.keys(run.account.outcomes).length).toBeGreaterThanOrEqual(19);
    expect(hostileRunProblems(run)).toEqual([]);
  });
});
