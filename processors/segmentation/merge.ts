import type { CounterEvent, SegmentMembershipState } from '../model/profile-state';
import { compareEvents } from './counters';

/**
 * Counters: the union of both event lists, sorted by time. The two
 * profiles saw different events, so nothing is dropped as a duplicate.
 * Windows and bounds are applied by the segmentation node when it sees
 * the merge (it knows the rules); the newest events are kept, so the result
 * is what one profile that saw every event would hold.
 */
export function mergeCounters(winner: Record<string, CounterEvent[]>, loser: Record<string, CounterEvent[]>): Record<string, CounterEvent[]> {
  const merged: Record<string, CounterEvent[]> = {};
  for (const name in winner) merged[name] = [...winner[name]!];
  for (const name in loser) {
    const events = merged[name];
    merged[name] = events ? [...events, ...loser[name]!].sort(compareEvents) : [...loser[name]!];
  }
  return merged;
}

/**
 * Segments: the union, each with the earlier `since`. The segmentation
 * node then re-evaluates every segment on the merged state, so this only
 * decides how long a surviving membership has lasted.
 */
export function mergeSegments(
  winner: Record<string, SegmentMembershipState>,
  loser: Record<string, SegmentMembershipState>,
): Record<string, SegmentMembershipState> {
  const merged: Record<string, SegmentMembershipState> = {};
  for (const name in loser) merged[name] = { since: loser[name]!.since };
  for (const name in winner) merged[name] = { since: Math.min(winner[name]!.since, merged[name]?.since ?? Infinity) };
  return merged;
}
