import { Rng } from '../simulator/random';

/** What can go wrong in a run, and when: at a share of the input the group has committed. */
export type Fault =
  | { kind: 'kill'; at: number; victim: number; freshState: boolean; delayMs: number }
  | { kind: 'broker-restart'; at: number }
  | { kind: 'rebalance'; at: number; leaver: number }
  | { kind: 'registry-outage'; at: number; share: number };

export interface FaultCounts {
  kills: number;
  brokerRestarts: number;
  rebalances: number;
  registryOutages: number;
}

/**
 * The faults of a run, drawn from its seed so that a failure can be
 * reproduced: the same seed gives the same plan (which instance dies after
 * how much progress, whether it comes back with its state directory or
 * without, and how long after the progress mark the kill lands, so kills
 * fall inside batches and commits, not between them).
 */
export function planFaults(seed: number, counts: FaultCounts): Fault[] {
  const rng = new Rng(seed ^ 0x5eed_fa17);
  const faults: Fault[] = [];
  // Marks in (0.05, 0.9): every fault lands mid-stream, with input before and after it.
  const mark = () => 0.05 + rng.next() * 0.85;
  for (let i = 0; i < counts.kills; i++) {
    faults.push({ kind: 'kill', at: mark(), victim: rng.int(1 << 16), freshState: rng.chance(1 / 3), delayMs: rng.int(400) });
  }
  for (let i = 0; i < counts.brokerRestarts; i++) faults.push({ kind: 'broker-restart', at: mark() });
  for (let i = 0; i < counts.rebalances; i++) faults.push({ kind: 'rebalance', at: mark(), leaver: rng.int(1 << 16) });
  for (let i = 0; i < counts.registryOutages; i++) faults.push({ kind: 'registry-outage', at: 0.1 + rng.next() * 0.6, share: 0.05 });
  return faults.sort((a, b) => a.at - b.at);
}

export function describeFault(fault: Fault): string {
  const at = `${(fault.at * 100).toFixed(1)} %`;
  switch (fault.kind) {
    case 'kill':
      return `kill -9 at ${at} (+${fault.delayMs} ms), restart ${fault.freshState ? 'with an empty state directory' : 'with its state'}`;
    case 'broker-restart':
      return `broker stop and start at ${at}`;
    case 'rebalance':
      return `a third instance joins at ${at}, then one leaves`;
    case 'registry-outage':
      return `registry unreachable at ${at} while ${(fault.share * 100).toFixed(0)} % of the input arrives with a new writer schema`;
  }
}
