/**
 * The engagement section of a profile (ProfileState.engagement), owned by
 * processors/triggers and processors/outcomes: what was sent (fatigue),
 * trigger progress, holdout assignments and exposures for attribution.
 */
export interface EngagementState {
  /** Commands sent, newest last, bounded: fatigue counts them on every channel. */
  sent: SentCommand[];
  /** Dismissals, newest last, bounded. */
  dismissed: { at: number; triggerId: string; commandId: string | null }[];
  /** Last time each trigger fired (sent or not), for cooldowns. */
  lastFired: Record<string, number>;
  /** Holdout assignment per trigger, fixed at first decision; on merge the winner's stands. */
  holdout: Record<string, 'control' | 'treatment'>;
  /** Trigger-specific pending state (sequences in progress, absence timers). */
  pending: Record<string, PendingTrigger>;
  /** Decisions that can still be attributed a conversion (treatment sends and control hold-outs). */
  exposures: Exposure[];
}

export interface SentCommand {
  at: number;
  commandId: string;
  triggerId: string;
  channel: string;
  action: string;
}

export interface PendingTrigger {
  triggerId: string;
  /** When the pattern started (e.g. the add_to_cart). */
  since: number;
  /** When the absence is decided (a timer is scheduled for it). */
  due: number;
  causeEventIds: string[];
}

export interface Exposure {
  at: number;
  triggerId: string;
  group: 'control' | 'treatment';
  commandId: string | null;
  converted: boolean;
}

export function emptyEngagement(): EngagementState {
  return { sent: [], dismissed: [], lastFired: {}, holdout: {}, pending: {}, exposures: [] };
}
