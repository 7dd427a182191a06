import type { Provenance } from '../profile/provenance';
import { emptyEngagement, type EngagementState } from '../triggers/state';

/**
 * One person's state in the profile task: everything is keyed by canonical
 * profile id and stored as one entry of the `profiles` store. Each section
 * belongs to one processor, which also owns its merge rule (see
 * processors/<name>/merge.ts); processors/profile/merge.ts folds a loser's
 * whole state into a winner's with them. Times are event time (ms).
 */
export interface ProfileState {
  id: string;
  /** min */
  firstSeen: number;
  /** max */
  lastSeen: number;
  /** Hashed identifiers by type; union. */
  identifiers: Record<string, string[]>;
  /** Per channel: touch count (sum), last touch (max), current session (latest). */
  channels: Record<string, ChannelState>;
  /** Most recent touchpoints across channels, oldest first, bounded; union by eventId, sorted, truncated. */
  journey: JourneyEntry[];
  /** Known facts (e.g. segment of business, preferred branch); latest by event time. */
  traits: Record<string, Stamped<string>>;
  /** "<channel>|<purpose>" -> granted or withdrawn; latest by event time. `*` means any. */
  consent: Record<string, Stamped<boolean>>;
  timeZone: Stamped<string> | null;
  /**
   * [event time, eventId] of the events just older than the journey, oldest first: with the journey's
   * own ids, the last N event ids, to drop duplicates of a touchpoint (producer retries); union, sorted, truncated.
   */
  recentEventIds: RecentEvent[];
  /** Owned by processors/scoring. */
  scores: Record<string, ScoreState>;
  /** Owned by processors/segmentation: event times (and values) of events matching each counter. */
  counters: Record<string, CounterEvent[]>;
  /** Owned by processors/segmentation: segments the person is in now. */
  segments: Record<string, SegmentMembershipState>;
  /** Owned by processors/triggers and processors/outcomes. */
  engagement: EngagementState;
  /**
   * Event time the profile's view was last published (profiles.view); null
   * before the first. Owned by the view node: kept here, not in a store of
   * its own, because the profile is written anyway when it changes.
   */
  viewedAt: number | null;
  /**
   * Owned by the profile node: what undoing the profile's recent undoable
   * merges needs (processors/profile/provenance.ts); absent when there are none.
   */
  provenance?: Provenance;
}

export interface Stamped<T> {
  value: T;
  at: number;
}

export interface ChannelState {
  count: number;
  lastAt: number;
  session: SessionState | null;
}

export interface SessionState {
  id: string | null;
  startedAt: number;
  lastAt: number;
  /** Pages or screens seen in this session. */
  depth: number;
}

export interface JourneyEntry {
  at: number;
  eventId: string;
  channel: string;
  eventType: string;
  category: string | null;
  path: string | null;
}

/** [event time, eventId] */
export type RecentEvent = [number, string];

export interface ScoreState {
  /** Decayed value as of `at`. */
  value: number;
  at: number;
  /** The half-life `value` decays with, kept so that a merge needs no scoring model. */
  halfLife: number;
  /** Decayed contribution per signal as of `at`, for explanations; only the largest ones are kept. */
  contributions: Record<string, number>;
  /** The recency signal as of `at`: set (not added) by each event, so only the latest one counts. */
  recency?: number;
}

/** [event time, value] */
export type CounterEvent = [number, number];

export interface SegmentMembershipState {
  since: number;
}

export function emptyProfile(id: string, at: number): ProfileState {
  return {
    id,
    firstSeen: at,
    lastSeen: at,
    identifiers: {},
    channels: {},
    journey: [],
    traits: {},
    consent: {},
    timeZone: null,
    recentEventIds: [],
    scores: {},
    counters: {},
    segments: {},
    engagement: emptyEngagement(),
    viewedAt: null,
  };
}

/** What the profile store holds for an id: a live profile, or a pointer left by a merge. */
export type ProfileEntry = ProfileState | { mergedInto: string; at: number };

export function isForwarding(entry: ProfileEntry | undefined): entry is { mergedInto: string; at: number } {
  return entry !== undefined && 'mergedInto' in entry;
}
