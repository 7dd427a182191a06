import type { ChannelState, JourneyEntry, ProfileState, RecentEvent, SessionState, Stamped } from '../model/profile-state';
import { mergeScores } from '../scoring/merge';
import { mergeCounters, mergeSegments } from '../segmentation/merge';
import { mergeEngagement } from '../triggers/merge';
import type { ProfileConfig } from './config';
import { compareJourney, compareRecent, own, supersedes } from './state';

/**
 * Folds a merged-away profile (`loser`) into the profile that survives
 * (`winner`) with each section's merge rule; returns a new state and
 * leaves both inputs as they were. The rules are chosen so that the result
 * is the state one profile would have reached had it seen both histories:
 * firstSeen min, lastSeen max, identifiers a sorted union, channel counts
 * summed, journey and recent event ids a union by event id sorted by time
 * and truncated to the same bound, traits/consent/time zone latest by
 * event time (same tie-break as when applied), scores added at a common
 * reference time (scoring/merge.ts), counters a union (segmentation/merge.ts),
 * engagement by its own rule (triggers/merge.ts).
 *
 * Where it is approximate (stated in README.md): a channel's current
 * session (each side keeps only its latest one), score explanations when
 * a side had dropped small contributions, and bounded lists past their
 * bound on both sides.
 */
export function mergeProfiles(
  winner: ProfileState,
  loser: ProfileState,
  limits: Pick<ProfileConfig, 'journeyLength' | 'recentEventIds'>,
): ProfileState {
  const journey = unionNewest(winner.journey, loser.journey, (e) => e.eventId, compareJourney, limits.journeyLength);
  return {
    id: winner.id,
    firstSeen: Math.min(winner.firstSeen, loser.firstSeen),
    lastSeen: Math.max(winner.lastSeen, loser.lastSeen),
    identifiers: mergeIdentifiers(winner.identifiers, loser.identifiers),
    channels: mergeChannels(winner.channels, loser.channels),
    journey,
    traits: latestEach(winner.traits, loser.traits),
    consent: latestEach(winner.consent, loser.consent),
    timeZone: latestOf(winner.timeZone, loser.timeZone),
    recentEventIds: mergeRecentEvents(winner, loser, journey, limits.recentEventIds - limits.journeyLength),
    scores: mergeScores(winner.scores, loser.scores),
    counters: mergeCounters(winner.counters, loser.counters),
    segments: mergeSegments(winner.segments, loser.segments),
    engagement: mergeEngagement(winner.engagement, loser.engagement),
    // the survivor's view goes on (profiles.view is keyed by its id); the loser's is withdrawn
    viewedAt: winner.viewedAt,
  };
}

function mergeIdentifiers(a: Record<string, string[]>, b: Record<string, string[]>): Record<string, string[]> {
  const merged: Record<string, string[]> = {};
  for (const type in a) merged[type] = [...a[type]!];
  for (const type in b) merged[type] = [...new Set([...(own(merged, type) ?? []), ...b[type]!])].sort();
  return merged;
}

function mergeChannels(a: Record<string, ChannelState>, b: Record<string, ChannelState>): Record<string, ChannelState> {
  const merged: Record<string, ChannelState> = {};
  for (const name in a) merged[name] = { ...a[name]!, session: a[name]!.session && { ...a[name]!.session } };
  for (const name in b) {
    const other = b[name]!;
    const mine = own(merged, name);
    merged[name] = mine
      ? { count: mine.count + other.count, lastAt: Math.max(mine.lastAt, other.lastAt), session: mergeSessions(mine.session, other.session) }
      : { ...other, session: other.session && { ...other.session } };
  }
  return merged;
}

/**
 * The later session stands; the earlier one joins it if they overlap in
 * time (one person on one channel in the same stretch). Each side only
 * kept its latest session, so a session that earlier events of one side
 * would have bridged is seen shorter than it was: approximate.
 */
function mergeSessions(a: SessionState | null, b: SessionState | null): SessionState | null {
  if (!a || !b) return a ? { ...a } : b && { ...b };
  const [early, late] = a.lastAt <= b.lastAt ? [a, b] : [b, a];
  const sameId = early.id === null || late.id === null || early.id === late.id;
  if (!sameId || early.lastAt < late.startedAt) return { ...late };
  return { id: late.id ?? early.id, startedAt: Math.min(early.startedAt, late.startedAt), lastAt: late.lastAt, depth: early.depth + late.depth };
}

/** Union by id (first seen stays), sorted, the `bound` newest kept. */
function unionNewest<T extends JourneyEntry | RecentEvent>(a: T[], b: T[], id: (item: T) => string, compare: (x: T, y: T) => number, bound: number): T[] {
  const byId = new Map<string, T>();
  for (const item of [...a, ...b]) if (!byId.has(id(item))) byId.set(id(item), item);
  const merged = [...byId.values()].sort(compare);
  return merged.length > bound ? merged.slice(merged.length - bound) : merged;
}

/**
 * The events just older than the merged journey: those of either side's
 * journey that did not make it into the merged one, and both sides' older
 * ids. An event of one side's older ids is older than that side's whole
 * journey, so it can never belong in the merged journey.
 */
function mergeRecentEvents(winner: ProfileState, loser: ProfileState, journey: JourneyEntry[], bound: number): RecentEvent[] {
  const inJourney = new Set(journey.map((e) => e.eventId));
  const older: RecentEvent[] = [];
  for (const side of [winner, loser]) {
    for (const e of side.journey) if (!inJourney.has(e.eventId)) older.push([e.at, e.eventId]);
    older.push(...side.recentEventIds);
  }
  return unionNewest([], older, (e) => e[1], compareRecent, bound);
}

function latestEach<T extends string | boolean>(a: Record<string, Stamped<T>>, b: Record<string, Stamped<T>>): Record<string, Stamped<T>> {
  const merged = { ...a };
  for (const key in b) if (supersedes(b[key]!, own(merged, key))) merged[key] = b[key]!;
  return merged;
}

function latestOf<T extends string>(a: Stamped<T> | null, b: Stamped<T> | null): Stamped<T> | null {
  if (!b) return a;
  return supersedes(b, a ?? undefined) ? b : a;
}
