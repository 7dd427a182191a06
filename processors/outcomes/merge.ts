import type { LiftCounts, TriggerLift } from './lift';

/**
 * Merge rules of the outcomes state.
 *
 * Per person, everything outcomes keeps (dismissals, command statuses,
 * exposures and whether they converted) lives in profile.engagement and
 * merges with processors/triggers/merge.ts (`mergeEngagement`): exposures
 * are unioned and stay converted if either side converted, so a merge
 * never counts a conversion twice. Lift counts are not per person and are
 * not touched by a profile merge: an exposure is counted once, by the task
 * that recorded it.
 *
 * Per trigger, the `lift` store holds one partition's running counts; the
 * engagement.lift topic carries the latest of each (trigger, partition).
 * `combineLift` is the merge over partitions that the replay report,
 * dashboards and metrics use: keep the latest record of each (trigger,
 * partition) by asOf (later records of a partition supersede earlier ones),
 * then sum the partitions.
 */
export function combineLift(records: Iterable<TriggerLift>): Map<string, LiftCounts & { asOf: number; partitions: number }> {
  const latest = new Map<string, TriggerLift>();
  for (const r of records) {
    const key = `${r.triggerId}|${r.partition}`;
    const kept = latest.get(key);
    if (kept === undefined || r.asOf >= kept.asOf) latest.set(key, r);
  }
  const totals = new Map<string, LiftCounts & { asOf: number; partitions: number }>();
  for (const r of latest.values()) {
    const t = totals.get(r.triggerId) ?? { treated: 0, treatedConverted: 0, control: 0, controlConverted: 0, asOf: r.asOf, partitions: 0 };
    t.treated += r.treated;
    t.treatedConverted += r.treatedConverted;
    t.control += r.control;
    t.controlConverted += r.controlConverted;
    t.asOf = Math.max(t.asOf, r.asOf);
    t.partitions++;
    totals.set(r.triggerId, t);
  }
  return totals;
}
