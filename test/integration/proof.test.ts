import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_DIR } from '../../cli/app';
import { runHostile } from '../../proof/hostile-run';
import { PROFILES } from '../../proof/profiles';
import { describeHostileRun, hostileRunProblems } from '../../proof/report';
import { testLog } from '../support/logs';

/**
 * The proof suite's hostile-input part in CI: 10,000 bad records of 19 kinds
 * through an engine process on the real stack. The fault part (kill -9,
 * broker restarts, rebalances, a registry outage) runs with `npm run proof`:
 * it still finds exactly-once defects on some seeds (proof/README.md, "Open
 * defects"), and CI is a verdict on what is fixed. A failure prints its
 * seed; LP_PROOF_SEED=<seed> runs the same records again.
 */
jest.setTimeout(1_200_000);

const seed = Number(process.env.LP_PROOF_SEED ?? Math.floor(Math.random() * 1_000_000));
const profile = PROFILES.ci;
const say = (line: string) => process.stderr.write(`${line}\n`);

describe(`proof, hostile input (seed ${seed})`, () => {
  beforeAll(() => say(`proof seed ${seed}: LP_PROOF_SEED=${seed} npx jest test/integration/proof.test.ts reproduces it`));

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
