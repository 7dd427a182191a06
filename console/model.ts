/**
 * What the console's JSON API answers (console/routes.ts) and its pages
 * (console/web) read. Times are epoch milliseconds: event time for what a
 * person did and what the engine decided about it, wall-clock time for the
 * live page's series. No raw identifier ever appears here: identifiers are
 * the HMAC hashes the engine stores.
 */

/** GET /api/console/lookup/{type}/{value}: the profile an identifier belongs to. */
export interface LookupAnswer {
  profileId: string;
  identifierType: string;
}

/** GET /api/console/profiles/{profileId}: everything the agent's page shows of one person. */
export interface ConsoleProfile {
  profileId: string;
  known: boolean;
  firstSeen: number;
  lastSeen: number;
  /** Event time the page is computed at (scores decayed to it, caps counted back from it): the last touch. */
  asOf: number;
  timeZone: string | null;
  /** Hashed identifiers by type (the HMAC the engine stores, never the value). */
  identifiers: { type: string; hashes: string[] }[];
  channels: { channel: string; count: number; lastAt: number; sessionDepth: number | null }[];
  consent: { channel: string; purpose: string; granted: boolean; at: number }[];
  scores: { name: string; value: number; contributions: { signal: string; value: number }[] }[];
  /** Segments the person is in now, and since when. */
  segments: { name: string; since: number }[];
  /** Most recent touchpoints across channels, newest first. */
  journey: { at: number; eventId: string; channel: string; eventType: string; category: string | null; path: string | null }[];
  /** Commands sent to the person, newest first. */
  commands: ConsoleCommand[];
  /** Decisions that sent nothing (held out, capped, no consent...), newest first. */
  decisions: ConsoleDecision[];
  /** Profiles that became this one, newest first. */
  merges: ConsoleMerge[];
  next: NextView;
}

/** Why the engine decided what it decided (schemas/DecisionTrace.avsc). */
export interface ConsoleTrace {
  rule: string;
  causeEventIds: string[];
  scores: Record<string, number>;
  segments: string[];
  /** Eligibility checks in the order they ran; the first that did not pass is the reason. */
  checks: { check: string; passed: boolean; detail: string }[];
}

export interface ConsoleCommand {
  commandId: string;
  profileId: string;
  triggerId: string;
  channel: string;
  action: string;
  at: number;
  expiresAt: number | null;
  /** sent, or what a channel reported (delivered, opened, clicked, dismissed, converted...); null when the profile no longer holds it. */
  status: string | null;
  /** null when the console has not read the command from engagement.commands (older than what it keeps). */
  trace: ConsoleTrace | null;
}

export interface ConsoleDecision {
  decisionId: string;
  profileId: string;
  triggerId: string;
  /** held_out, no_consent, no_reachable_channel, quiet_hours, capped, cooldown, outranked, stale. */
  outcome: string;
  at: number;
  trace: ConsoleTrace;
}

export interface ConsoleMerge {
  /** Event time of the touchpoint that linked the two. */
  at: number;
  eventId: string;
  /** The profile that was merged into this one. */
  mergedProfileId: string;
  detail: string;
}

/** What the engine would do next for this person, as of `asOf`. */
export interface NextView {
  /** Enabled rules with progress towards firing, closest first. */
  triggers: NextTrigger[];
  /** Fatigue caps: how many more commands may be sent, overall and per channel. */
  caps: CapLeft[];
}

export interface NextTrigger {
  triggerId: string;
  description: string;
  kind: 'event' | 'sequence' | 'absence' | 'segment' | 'score';
  /** 0..1: share of the pattern done (a sequence's matched steps; 1 for an absence waiting for its deadline). */
  progress: number;
  /** In words, e.g. "2 of 3 steps within 1d" or "fires at 2026-03-02 10:15 unless login happens". */
  detail: string;
  /** When the progress lapses (a sequence's window) or the rule fires (an absence's deadline); null if no such time. */
  until: number | null;
  /** What would stop a firing from being sent now (cooldown until ..., dismissed, `who` not met); null when nothing does. */
  blockedBy: string | null;
}

export interface CapLeft {
  /** null: the overall cap (every channel). */
  channel: string | null;
  max: number;
  per: string;
  used: number;
  left: number;
}

/** GET /api/console/live: the roll-up of the whole engine, from its topics and this instance's metrics. */
export interface LiveSnapshot {
  /** Wall-clock time of the snapshot. */
  at: number;
  /** Width of one bucket of the series. */
  bucketMs: number;
  series: LiveSeries;
  /** Records not yet processed, per source topic of the engine (end offset minus the group's committed offset). */
  lag: { topic: string; lag: number }[];
  /** Segment sizes, from segments.membership (enters minus exits). */
  segments: { name: string; size: number }[];
  lift: LiftRow[];
  /** Totals since the console started reading (its topics from the beginning they retain). */
  totals: { commands: number; decisions: number; deadLetters: number; merges: number };
  readiness: { ready: boolean; instances: number; tasks: number; restoring: number };
  /** Latest commands and decisions across the engine, newest first (bounded). */
  recent: { commands: ConsoleCommand[]; decisions: ConsoleDecision[] };
}

/**
 * Wall-clock series, oldest bucket first: `times[i]` is the start of bucket
 * i, and every array of counts has one value per bucket (records read by
 * the console in it, per second).
 */
export interface LiveSeries {
  times: number[];
  /** Touchpoints arriving on touchpoints.raw, per second. */
  touchpointsIn: number[];
  /** Touchpoints the engine committed as processed, per second. */
  touchpointsProcessed: number[];
  deadLetters: number[];
  /** Commands per second by trigger id. */
  commandsByTrigger: Record<string, number[]>;
  /** Commands per second by channel. */
  commandsByChannel: Record<string, number[]>;
  /** Decisions that sent nothing, per second by outcome. */
  suppressionsByOutcome: Record<string, number[]>;
}

export interface LiftRow {
  triggerId: string;
  treated: number;
  treatedConverted: number;
  control: number;
  controlConverted: number;
  /** Percentage points; null without data in both groups. */
  lift: number | null;
  /** 95 % always-valid interval (fit to be watched live), percentage points; null without data. */
  low: number | null;
  high: number | null;
  /** 30 people in each group at least. */
  enoughData: boolean;
}

/** GET /api/console/triggers/{triggerId}: the people behind a trigger's numbers. */
export interface TriggerActivity {
  triggerId: string;
  description: string | null;
  commands: ConsoleCommand[];
  decisions: ConsoleDecision[];
  lift: LiftRow | null;
}

/** GET /api/console/meta: what the pages need to know of this engine to ask the rest. */
export interface ConsoleMeta {
  appId: string;
  /** Identifier types a person can be looked up by (config/identity.yaml), e.g. phone, email, customer_id. */
  identifierTypes: string[];
  triggers: { id: string; description: string }[];
}
