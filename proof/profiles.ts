import type { FaultCounts } from './faults';
import type { WorkloadOptions } from './workload';

export interface ProofProfile {
  workload: Omit<WorkloadOptions, 'seed'>;
  faults: FaultCounts;
  /** Bad records produced by the hostile-input part. */
  hostileRecords: number;
}

/**
 * `ci` runs inside `npm test` (about two minutes on two cores, every kind of
 * fault at least once); `long` is `npm run proof`: 200k touchpoints and ten
 * kills.
 */
export const PROFILES: Record<'ci' | 'long', ProofProfile> = {
  ci: {
    workload: { people: 300, days: 30, partitions: 4, maxTouchpoints: 18_000, wrongMerges: 3 },
    faults: { kills: 3, brokerRestarts: 1, rebalances: 1, registryOutages: 1 },
    hostileRecords: 10_000,
  },
  long: {
    workload: { people: 3_300, days: 30, partitions: 4, maxTouchpoints: 200_000, wrongMerges: 10 },
    faults: { kills: 10, brokerRestarts: 2, rebalances: 2, registryOutages: 1 },
    hostileRecords: 50_000,
  },
};
