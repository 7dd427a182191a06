import { keepNewest, LIMITS, type AbsenceProgress, type PatternEvent, type SequenceProgress } from './state';

/**
 * Event-time pattern matching for sequence and absence triggers. Pure
 * functions over a trigger's progress (kept in the profile), so the result
 * depends only on the events and their times, never on arrival order, as
 * long as events arrive within the trigger's grace.
 */

export interface PatternMatch {
  /** Oldest first. */
  eventIds: string[];
  /** The event the command id derives from. */
  causeEventId: string;
  /** When the pattern became true in event time. */
  at: number;
}

const byTimeThenId = (a: { 0: number; 1: string }, b: { 0: number; 1: string }): number =>
  a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

/** An event is late for a pattern when it is older than stream time minus the grace. */
export function isLate(at: number, streamTime: number, grace: number): boolean {
  return at < streamTime - grace;
}

// --- sequences --------------------------------------------------------------------------------

/**
 * Adds an event matching some of a sequence's steps (`mask`: bit i = step
 * i) in event-time order, forgets events too old to be part of any window
 * an in-grace event could still complete, and looks for the steps in order
 * within `within`. On a match the events up to the completing one are
 * consumed (each event counts for one firing); otherwise undefined.
 */
export function addSequenceEvent(
  progress: SequenceProgress,
  event: PatternEvent,
  steps: number,
  within: number,
  horizon: number,
): PatternMatch | undefined {
  const events = progress.events;
  if (events.some((e) => e[1] === event[1])) return undefined;
  events.push(event);
  events.sort(byTimeThenId);
  let drop = 0;
  while (drop < events.length && events[drop]![0] < horizon) drop++;
  progress.events = keepNewest(drop > 0 ? events.slice(drop) : events, LIMITS.patternEvents);
  return takeSequence(progress, steps, within);
}

/** Looks for a completed sequence in the progress as it is (e.g. after a merge); consumes it when found. */
export function takeSequence(progress: SequenceProgress, steps: number, within: number): PatternMatch | undefined {
  const match = findSequence(progress.events, steps, within);
  if (!match) return undefined;
  const picked = match.map((i) => progress.events[i]!);
  const last = picked[picked.length - 1]!;
  progress.events = progress.events.filter((e) => byTimeThenId(e, last) > 0);
  return { eventIds: picked.map((e) => e[1]), causeEventId: last[1], at: last[0] };
}

/**
 * Indexes of the earliest occurrence of steps 0..n-1 in order within
 * `within` of the first, or undefined.
 */
export function findSequence(events: readonly PatternEvent[], steps: number, within: number): number[] | undefined {
  const picked = longestSequencePrefix(events, steps, within);
  return picked.length === steps ? picked : undefined;
}

/**
 * Indexes of the longest run of steps 0..k-1 (k <= `steps`) in order within
 * `within` of its first event, the earliest start on ties; empty when no
 * event matches step 0. Greedy from each candidate start: taking the
 * earliest event for each next step never loses a match.
 */
export function longestSequencePrefix(events: readonly PatternEvent[], steps: number, within: number): number[] {
  let best: number[] = [];
  for (let i = 0; i < events.length && best.length < steps; i++) {
    if ((events[i]![2] & 1) === 0) continue;
    const start = events[i]![0];
    const picked = [i];
    for (let j = i + 1; j < events.length && picked.length < steps; j++) {
      if (events[j]![0] - start > within) break;
      if (events[j]![2] & (1 << picked.length)) picked.push(j);
    }
    if (picked.length > best.length) best = picked;
  }
  return best;
}

// --- absences ---------------------------------------------------------------------------------

export interface AbsenceEpisode {
  starts: [number, string][];
  /** The deadline: the last opening event of the episode plus `within`. */
  due: number;
  cancelled: boolean;
}

/**
 * Splits openings and cancels into episodes on the event-time line. An
 * opening starts an episode or, before its deadline, extends it ("no
 * purchase within 30 minutes of the last cart activity"); a cancel at or
 * before the deadline cancels the episode; at equal times the opening
 * comes first, so a purchase in the same millisecond cancels it.
 */
export function absenceEpisodes(starts: readonly [number, string][], cancels: readonly number[], within: number): AbsenceEpisode[] {
  const episodes: AbsenceEpisode[] = [];
  let current: [number, string][] = [];
  let due = 0;
  const close = (cancelled: boolean): void => {
    episodes.push({ starts: current, due, cancelled });
    current = [];
  };
  let s = 0;
  let c = 0;
  while (s < starts.length || c < cancels.length) {
    const start = starts[s];
    if (start !== undefined && (c >= cancels.length || start[0] <= cancels[c]!)) {
      if (current.length > 0 && start[0] > due) close(false);
      current.push(start);
      due = start[0] + within;
      s++;
    } else {
      const cancel = cancels[c++]!;
      if (current.length > 0) close(cancel <= due);
    }
  }
  if (current.length > 0) close(false);
  return episodes;
}

/**
 * Brings an absence up to stream time `now`: drops cancelled openings,
 * returns the episodes whose deadline passed at least `grace` ago (they
 * fire; a cancel arriving later than that is past the grace anyway), and
 * the next deadline still open, for the timer (fire at deadline + grace).
 */
export function settleAbsence(
  progress: AbsenceProgress,
  within: number,
  grace: number,
  now: number,
): { fired: PatternMatch[]; nextDue: number | undefined } {
  const fired: PatternMatch[] = [];
  const keep: [number, string][] = [];
  let nextDue: number | undefined;
  for (const episode of absenceEpisodes(progress.starts, progress.cancels, within)) {
    if (episode.cancelled) continue;
    if (episode.due + grace <= now) {
      const ids = episode.starts.map((s) => s[1]);
      fired.push({ eventIds: ids, causeEventId: ids[ids.length - 1]!, at: episode.due });
    } else {
      keep.push(...episode.starts);
      if (nextDue === undefined || episode.due < nextDue) nextDue = episode.due;
    }
  }
  progress.starts = keep;
  progress.cancels = progress.cancels.filter((c) => c >= now - grace);
  return { fired, nextDue };
}

/** Records an opening event (once per event id). */
export function addAbsenceStart(progress: AbsenceProgress, at: number, eventId: string): void {
  if (progress.starts.some((s) => s[1] === eventId)) return;
  progress.starts.push([at, eventId]);
  progress.starts.sort(byTimeThenId);
  progress.starts = keepNewest(progress.starts, LIMITS.absenceStarts);
}

/** Records a cancelling event's time. */
export function addAbsenceCancel(progress: AbsenceProgress, at: number): void {
  if (progress.cancels.includes(at)) return;
  progress.cancels.push(at);
  progress.cancels.sort((a, b) => a - b);
  progress.cancels = keepNewest(progress.cancels, LIMITS.absenceCancels);
}
