import type { OutcomeEvent } from '../model/touchpoint';

/**
 * The engagement section of a profile (ProfileState.engagement), owned by
 * processors/triggers and processors/outcomes: pattern progress, firings
 * waiting for arbitration, what was sent (fatigue), dismissals, holdout
 * assignments and exposures for attribution. Times are event time (ms).
 * Every list is bounded (LIMITS) so a profile stays small.
 */
export interface EngagementState {
  /** Commands sent, oldest first, bounded: fatigue counts them on every channel. */
  sent: SentCommand[];
  /**
   * Decisions held out as control, oldest first, bounded: fatigue counts
   * them as the commands they stand for, so a control person is capped at
   * the same points as a treated one. Apart from `sent` because no channel
   * ever hears of them.
   */
  heldOut: HeldOutDecision[];
  /** Dismissals reported by channels, oldest first, bounded. */
  dismissed: Dismissal[];
  /** Per trigger: last time it engaged the person (command sent, or held out as control), for cooldowns. */
  lastFired: Record<string, number>;
  /** Holdout group per trigger, fixed at the first decision; on merge the winner's stands. */
  holdout: Record<string, HoldoutGroup>;
  /** Per trigger: progress of sequence and absence patterns. */
  patterns: Record<string, PatternState>;
  /** Firings waiting for the end of their arbitration window, in arrival order. */
  pending: PendingFiring[];
  /** Decisions a conversion can still be attributed to: treatment sends and control hold-outs, oldest first. */
  exposures: Exposure[];
}

export type HoldoutGroup = 'control' | 'treatment';

/** What became of a command: 'sent' until a channel reports an outcome (the latest reported wins). */
export type CommandStatus = 'sent' | OutcomeEvent;

export interface SentCommand {
  at: number;
  commandId: string;
  triggerId: string;
  channel: string;
  action: string;
  status: CommandStatus;
}

/** The command a control person would have been sent: its trigger and the channel it would have used. */
export interface HeldOutDecision {
  at: number;
  decisionId: string;
  triggerId: string;
  channel: string;
}

export interface Dismissal {
  at: number;
  triggerId: string;
  commandId: string | null;
}

/** Events matching a sequence's steps, in event-time order: [event time, event id, bit mask of the steps it matches]. */
export type PatternEvent = [at: number, eventId: string, steps: number];

export interface SequenceProgress {
  kind: 'sequence';
  events: PatternEvent[];
}

/**
 * An absence in progress: `starts` are the pattern's opening events not yet
 * cancelled or fired ([event time, event id], in time order); `cancels` are
 * recent times of the cancelling event, kept while a late opening event
 * could still be cancelled by them.
 */
export interface AbsenceProgress {
  kind: 'absence';
  starts: [at: number, eventId: string][];
  cancels: number[];
}

export type PatternState = SequenceProgress | AbsenceProgress;

/** A trigger that fired for a person: what the triggers node hands to eligibility. */
export interface Firing {
  triggerId: string;
  /** The event the command id is derived from: the one that completed the pattern (or opened an absence). */
  causeEventId: string;
  /** Every event that made the trigger fire, oldest first. */
  causeEventIds: string[];
  /** Event time of the cause; freshness is measured from here (for an absence: the deadline that passed). */
  causeAt: number;
  /** Stream time when the trigger fired. */
  firedAt: number;
}

export interface PendingFiring extends Firing {
  /** End of the arbitration window this firing competes in. */
  decideAt: number;
}

export interface Exposure {
  at: number;
  triggerId: string;
  group: HoldoutGroup;
  /** The command id (treatment) or the decision id of the hold-out (control). */
  commandId: string;
  converted: boolean;
  /**
   * The person had been exposed to the trigger before: lift counts it (and
   * its conversion) apart from first exposures. Absent on exposures recorded
   * before repeats were counted apart, which were counted as first.
   */
  repeat?: boolean;
}

/** Upper bounds of the lists above (merges truncate to them too). */
export const LIMITS = {
  sent: 100,
  heldOut: 100,
  dismissed: 32,
  exposures: 64,
  pending: 16,
  patternEvents: 32,
  absenceStarts: 16,
  absenceCancels: 16,
} as const;

export function emptyEngagement(): EngagementState {
  return { sent: [], heldOut: [], dismissed: [], lastFired: {}, holdout: {}, patterns: {}, pending: [], exposures: [] };
}

/**
 * Engagement state as stored or transferred, which may predate a field (the
 * profile store keeps this section as JSON text): a missing field is empty.
 */
export function engagementFromStored(stored: Partial<EngagementState>): EngagementState {
  return { ...emptyEngagement(), ...stored };
}

/** Keeps the newest `max` entries of a list sorted oldest first. */
export function keepNewest<T>(list: T[], max: number): T[] {
  return list.length > max ? list.slice(list.length - max) : list;
}
