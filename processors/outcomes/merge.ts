import { emptyTally, TALLY_FIELDS, type LiftTally, type TriggerLift } from './lift';

/**
 * Merge rules of the outcomes state.
 *
 * Per person, everything outcomes keeps (dismissals, command statuses,
 * exposures and whether they converted) lives in profile.engagement and
 * merges with processors/triggers/merge.ts (`mergeEngagement`): exposures
 * are unioned and stay converted if either side converted, so a merge
 * never counts a conversion twice. Lift counts are kept per trigger, not
 * in the profile: an exposure is counted once, by the task that recorded
 * it. Two profiles of one person that each had a first exposure were
 * counted as two people: the merge makes the later one a repeat and moves
 * its counts from first to repeat (the outcomes node, `countOnce`), as far
 * as both sides still kept the exposures; after the merge the person's new
 * exposures are repeats (lastFired merges too).
 *
 * Per trigger, the `lift` store holds one partition's running counts; the
 * engagement.lift topic carries the latest of each (trigger, partition).
 * `combineLift` is the merge over partitions that the replay report,
 * dashboards and metrics use: keep the latest record of each (trigger,
 * partition) by asOf (later records of a partition supersede earlier ones),
 * then sum the partitions.
 */
export function combineLift(records: Iterable<TriggerLift>): Map<string, LiftTally & { asOf: number; partitions: number }> {
  const latest = new Map<string, TriggerLift>();
  for (const r of records) {
    const key = `${r.triggerId}|${r.partition}`;
    const kept = latest.get(key);
    if (kept === undefined || r.asOf >= kept.asOf) latest.set(key, r);
  }
  const totals = new Map<string, LiftTally & { asOf: number; partitions: number }>();
  for (const r of latest.values()) {
    const t = totals.get(r.triggerId) ?? { ...emptyTally(), asOf: r.asOf, partitions: 0 };
    for (const field of TALLY_FIELDS) t[field] += r[field];
    t.asOf = Math.max(t.asOf, r.asOf);
    t.partitions++;
    totals.set(r.triggerId, t);
  }
  return totals;
}
