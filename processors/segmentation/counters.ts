import type { CounterEvent, ProfileState } from '../model/profile-state';
import type { Touchpoint } from '../model/touchpoint';
import { insertBounded } from '../profile/state';
import type { SegmentRules } from './rules';

/**
 * Counters keep the [event time, value] of matching events, sorted by time,
 * for as long as the longest window that reads them, and at most
 * `eventsPerCounter` of them (oldest dropped first: past the bound, a
 * count over a long window is a lower bound). Windowed counts are computed
 * from them at evaluation time, so they slide without any bookkeeping.
 */

/**
 * Adds a touchpoint to every counter it matches. `now` is stream time: a
 * late event counts only if it is still inside the counter's longest
 * window relative to stream time (older ones could never be read).
 */
export function countTouchpoint(profile: ProfileState, touchpoint: Touchpoint, rules: SegmentRules, now: number): void {
  const at = touchpoint.occurredAt;
  for (const counter of rules.counters) {
    if (at <= now - counter.retention || !counter.match(touchpoint)) continue;
    let value = 1;
    if (counter.sum) {
      if (!touchpoint.amount) continue;
      value = touchpoint.amount.minorUnits;
    }
    const events = profile.counters[counter.name];
    if (events) insertBounded(events, [at, value], compareEvents, rules.eventsPerCounter);
    else profile.counters[counter.name] = [[at, value]];
  }
}

/** Drops events older than each counter's retention at `now`, counters no rule uses any more, and empty lists; enforces the bound. */
export function pruneCounters(profile: ProfileState, rules: SegmentRules, now: number): void {
  const counters = profile.counters;
  let kept = 0;
  for (const counter of rules.counters) {
    const events = counters[counter.name];
    if (events === undefined) continue;
    let expired = 0;
    while (expired < events.length && events[expired]![0] <= now - counter.retention) expired++;
    expired = Math.max(expired, events.length - rules.eventsPerCounter);
    if (expired === events.length) delete counters[counter.name];
    else {
      kept++;
      if (expired > 0) events.splice(0, expired);
    }
  }
  let size = 0;
  for (const _ in counters) size++;
  if (size === kept) return;
  for (const name in counters) if (!rules.counterByName.has(name)) delete counters[name];
}

export const compareEvents = (a: CounterEvent, b: CounterEvent): number => a[0] - b[0] || a[1] - b[1];
