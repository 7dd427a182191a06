import type { StreamTask } from '../task';
import type { SubTopology } from '../topology';
import type { TaskProducer } from './adapter';

/** A task this instance runs, with what the engine keeps about it. */
export interface ActiveTask {
  task: StreamTask;
  sub: SubTopology;
  producer?: TaskProducer;
  /** Serialises everything done to the task: batches, commits, punctuation, closing. */
  lock: Promise<void>;
  lastCommit: number;
  restored: boolean;
  /** Wall-clock time of the last input record. */
  lastInput: number;
  /** Whether the last batch left no lag; undefined until the first batch since the task opened. */
  caughtUp?: boolean;
  /** Why the task cannot move on, while it cannot (reported by /readyz and /healthz). */
  stall?: TaskStall;
}

export interface TaskStall {
  task: string;
  partition: number;
  /** Error kind, e.g. registry-unavailable. */
  kind: string;
  reason: string;
  /** Wall-clock ms of the first failure in a row. */
  since: number;
  attempts: number;
  /** A retriable stall waits for a dependency; any other means a defect that a restart may not cure. */
  retriable: boolean;
}

/** Runs `work` once everything queued on the task before it is done. */
export function withLock(active: ActiveTask, work: () => Promise<void>): Promise<void> {
  const run = active.lock.then(work);
  active.lock = run.catch(() => undefined);
  return run;
}
