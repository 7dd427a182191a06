import type { JourneyEntry, ProfileState, RecentEvent, SessionState, Stamped } from '../model/profile-state';
import { EVENT, type Touchpoint } from '../model/touchpoint';
import type { ProfileConfig } from './config';

/**
 * A profile is known (not anonymous) once a customer id is linked to it:
 * the one definition, for the profile view and for `known:` in segments
 * and triggers alike.
 */
export const KNOWN_IDENTIFIER = 'customer_id';
/** Attributes named `trait.<name>` set the trait <name>; other attributes are not kept. */
export const TRAIT_PREFIX = 'trait.';

/**
 * record[key] for keys that come from data (a channel, a trait, an
 * identifier type): a plain object would answer 'constructor' or
 * 'toString' from its prototype.
 */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function isKnown(profile: ProfileState): boolean {
  return (profile.identifiers[KNOWN_IDENTIFIER]?.length ?? 0) > 0;
}

/**
 * true when the event was applied already (a producer retry, or a
 * redelivery): its id is in the journey or just before it. A retry has
 * the time of the original, so times are compared first (ids often share
 * long prefixes).
 */
export function isDuplicate(profile: ProfileState, touchpoint: Touchpoint): boolean {
  const at = touchpoint.occurredAt;
  const journey = profile.journey;
  for (let i = 0; i < journey.length; i++) if (journey[i]!.at === at && journey[i]!.eventId === touchpoint.eventId) return true;
  const older = profile.recentEventIds;
  for (let i = 0; i < older.length; i++) if (older[i]![0] === at && older[i]![1] === touchpoint.eventId) return true;
  return false;
}

/**
 * Folds one touchpoint into the core of a profile, in place. Each field
 * uses a rule that does not depend on the order events arrive in (min,
 * max, union, latest by event time with a fixed tie-break, bounded lists
 * sorted by event time), which is what makes merges exact; see merge.ts.
 */
export function applyTouchpoint(profile: ProfileState, touchpoint: Touchpoint, config: ProfileConfig): void {
  const at = touchpoint.occurredAt;
  if (at < profile.firstSeen) profile.firstSeen = at;
  if (at > profile.lastSeen) profile.lastSeen = at;
  for (const id of touchpoint.identifiers) {
    const values = own(profile.identifiers, id.type);
    if (values) insertUnique(values, id.value);
    else profile.identifiers[id.type] = [id.value];
  }
  const gap = own(config.sessionGapByChannel, touchpoint.channel) ?? config.sessionGap;
  const channel = own(profile.channels, touchpoint.channel);
  if (channel) {
    channel.count++;
    if (at > channel.lastAt) channel.lastAt = at;
    channel.session = touchSession(channel.session, at, touchpoint.sessionId, gap);
  } else {
    profile.channels[touchpoint.channel] = { count: 1, lastAt: at, session: touchSession(null, at, touchpoint.sessionId, gap) };
  }
  const entry: JourneyEntry = {
    at,
    eventId: touchpoint.eventId,
    channel: touchpoint.channel,
    eventType: touchpoint.eventType,
    category: touchpoint.page?.category ?? null,
    path: touchpoint.page?.path ?? null,
  };
  const older = insertBounded(profile.journey, entry, compareJourney, config.journeyLength);
  if (older) insertBounded(profile.recentEventIds, [older.at, older.eventId], compareRecent, config.recentEventIds - config.journeyLength);
  const consent = touchpoint.consent;
  if (touchpoint.eventType === EVENT.consentUpdated && consent) {
    const key = `${consent.channel}|${consent.purpose}`;
    const next = { value: consent.granted, at };
    if (supersedes(next, own(profile.consent, key))) profile.consent[key] = next;
  }
  if (touchpoint.timeZone) {
    const next = { value: touchpoint.timeZone, at };
    if (supersedes(next, profile.timeZone ?? undefined)) profile.timeZone = next;
  }
  for (const key in touchpoint.attributes) {
    if (!key.startsWith(TRAIT_PREFIX)) continue;
    const name = key.slice(TRAIT_PREFIX.length);
    // assigning it would replace the traits object's prototype
    if (name === '__proto__') continue;
    const next = { value: touchpoint.attributes[key]!, at };
    if (supersedes(next, own(profile.traits, name))) profile.traits[name] = next;
  }
}

/**
 * Latest by event time; at the same time the smaller value (in text order)
 * wins, so the result does not depend on arrival order, and a consent
 * withdrawn and granted in the same millisecond stays withdrawn.
 */
export function supersedes<T extends string | boolean>(next: Stamped<T>, current: Stamped<T> | undefined): boolean {
  if (!current) return true;
  if (next.at !== current.at) return next.at > current.at;
  return String(next.value) < String(current.value);
}

/** The consent keys that decide (channel, purpose), most specific first: `*` means any. */
export function consentKeys(channel: string, purpose: string): string[] {
  return [`${channel}|${purpose}`, `${channel}|*`, `*|${purpose}`, '*|*'];
}

/** Granted when the latest decision among `keys` (see consentKeys) is a grant; nothing recorded means not granted. */
export function consentGranted(consent: Record<string, Stamped<boolean>>, keys: readonly string[]): boolean {
  let decisive: Stamped<boolean> | undefined;
  for (const key of keys) {
    const stamped = own(consent, key);
    if (stamped && supersedes(stamped, decisive)) decisive = stamped;
  }
  return decisive?.value === true;
}

/**
 * A channel's current session: a touch joins it unless the channel says it
 * is another session (session id) or the inactivity gap has passed. A late
 * touch joins it if it falls inside it; an older one belongs to a past
 * session and leaves it alone.
 */
function touchSession(session: SessionState | null, at: number, id: string | null, gap: number): SessionState {
  if (!session) return { id, startedAt: at, lastAt: at, depth: 1 };
  const sameId = id === null || session.id === null || id === session.id;
  if (at >= session.lastAt) {
    if (!sameId || at - session.lastAt > gap) return { id, startedAt: at, lastAt: at, depth: 1 };
    session.lastAt = at;
    session.id ??= id;
    session.depth++;
    return session;
  }
  if (sameId && at >= session.startedAt - gap) {
    if (at < session.startedAt) session.startedAt = at;
    session.id ??= id;
    session.depth++;
  }
  return session;
}

export const compareJourney = (a: JourneyEntry, b: JourneyEntry): number => a.at - b.at || compareText(a.eventId, b.eventId);
export const compareRecent = (a: RecentEvent, b: RecentEvent): number => a[0] - b[0] || compareText(a[1], b[1]);

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Inserts into a list sorted by `compare`, keeping the `bound` last (newest) items; returns the item that did not fit, if any. */
export function insertBounded<T>(list: T[], item: T, compare: (a: T, b: T) => number, bound: number): T | undefined {
  let i = list.length;
  while (i > 0 && compare(list[i - 1]!, item) > 0) i--;
  if (i === 0 && list.length >= bound) return item;
  list.splice(i, 0, item);
  return list.length > bound ? list.shift() : undefined;
}

function insertUnique(sorted: string[], value: string): void {
  let i = sorted.length;
  while (i > 0 && sorted[i - 1]! > value) i--;
  if (sorted[i - 1] !== value) sorted.splice(i, 0, value);
}
