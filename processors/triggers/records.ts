import type { HoldoutGroup } from './state';

/**
 * TypeScript views of the records this package emits. They follow
 * schemas/EngagementCommand.avsc, EngagementDecision.avsc,
 * DecisionTrace.avsc and DecisionCheck.avsc field for field (times are
 * timestamp-millis numbers).
 */

/** consent, reach, quiet_hours, fatigue, cooldown, freshness, arbitration, holdout */
export type CheckName = 'consent' | 'reach' | 'quiet_hours' | 'fatigue' | 'cooldown' | 'freshness' | 'arbitration' | 'holdout';

export interface DecisionCheck {
  check: CheckName;
  passed: boolean;
  detail: string;
}

export interface DecisionTrace {
  rule: string;
  causeEventIds: string[];
  scores: Record<string, number>;
  segments: string[];
  checks: DecisionCheck[];
}

export interface EngagementCommand {
  commandId: string;
  profileId: string;
  triggerId: string;
  channel: string;
  action: string;
  contentRef: string;
  priority: number;
  createdAt: number;
  expiresAt: number;
  trace: DecisionTrace;
}

/** Why a firing produced no command. */
export const DECISION_OUTCOMES = ['no_consent', 'no_reachable_channel', 'quiet_hours', 'capped', 'cooldown', 'outranked', 'stale', 'held_out'] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

export interface EngagementDecision {
  decisionId: string;
  profileId: string;
  triggerId: string;
  outcome: DecisionOutcome;
  decidedAt: number;
  trace: DecisionTrace;
}

/**
 * Eligibility -> outcomes (in process, child `outcomes`): a decision that
 * a conversion may later be attributed to. Treatment: a command was sent;
 * control: the person was held out. Outcomes counts them for lift.
 */
export interface ExposureRecorded {
  kind: 'exposure';
  profileId: string;
  triggerId: string;
  group: HoldoutGroup;
  /** Command id (treatment) or decision id (control). */
  commandId: string;
  at: number;
  /** The person had been exposed to the trigger before (lift counts repeats apart). */
  repeat: boolean;
}
