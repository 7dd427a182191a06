import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * What the console's JSON API answers (console/routes.ts) and its pages
 * (console/web) read: each answer is a JSON Schema (the routes' response
 * schemas, hence the OpenAPI document at /openapi.json) and the TypeScript
 * type derived from it, so the two cannot drift. Times are epoch
 * milliseconds: event time for what a person did and what the engine
 * decided about it, wall-clock time for the live page's series. No raw
 * identifier ever appears here: identifiers are the HMAC hashes the engine
 * stores.
 */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.Integer({ description: 'epoch milliseconds' });
const Counts = Type.Record(Type.String(), Type.Array(Type.Number()));

/** GET /api/console/meta: what the pages need to know of this engine to ask the rest. */
export const ConsoleMeta = Type.Object({
  appId: Type.String(),
  identifierTypes: Type.Array(Type.String(), { description: 'Identifier types a person can be looked up by (config/identity.yaml), e.g. phone, email, customer_id.' }),
  triggers: Type.Array(Type.Object({ id: Type.String(), description: Type.String() })),
});
export type ConsoleMeta = Static<typeof ConsoleMeta>;

/** GET /api/console/lookup/{type}/{value}: the profile an identifier belongs to. */
export const LookupAnswer = Type.Object({ profileId: Type.String(), identifierType: Type.String() });
export type LookupAnswer = Static<typeof LookupAnswer>;

/** Why the engine decided what it decided (schemas/DecisionTrace.avsc). */
export const ConsoleTrace = Type.Object({
  rule: Type.String(),
  causeEventIds: Type.Array(Type.String()),
  scores: Type.Record(Type.String(), Type.Number()),
  segments: Type.Array(Type.String()),
  checks: Type.Array(Type.Object({ check: Type.String(), passed: Type.Boolean(), detail: Type.String() }), {
    description: 'Eligibility checks in the order they ran (each channel a rule may use in turn); those that did not pass are the reason.',
  }),
});
export type ConsoleTrace = Static<typeof ConsoleTrace>;

export const ConsoleCommand = Type.Object({
  commandId: Type.String(),
  profileId: Type.String(),
  triggerId: Type.String(),
  channel: Type.String(),
  action: Type.String(),
  at: Time,
  expiresAt: Nullable(Time),
  status: Nullable(Type.String({ description: 'sent, or what a channel reported (delivered, opened, clicked, dismissed, converted...); null when the profile no longer holds it.' })),
  trace: Nullable(ConsoleTrace),
});
export type ConsoleCommand = Static<typeof ConsoleCommand>;

export const ConsoleDecision = Type.Object({
  decisionId: Type.String(),
  profileId: Type.String(),
  triggerId: Type.String(),
  outcome: Type.String({ description: 'held_out, no_consent, no_reachable_channel, quiet_hours, capped, cooldown, outranked, stale.' }),
  at: Time,
  trace: ConsoleTrace,
});
export type ConsoleDecision = Static<typeof ConsoleDecision>;

export const ConsoleMerge = Type.Object({
  at: Type.Integer({ description: 'Event time of the touchpoint that linked the two.' }),
  eventId: Type.String(),
  mergedProfileId: Type.String({ description: 'The profile that was merged into this one.' }),
  detail: Type.String(),
});
export type ConsoleMerge = Static<typeof ConsoleMerge>;

export const NextTrigger = Type.Object({
  triggerId: Type.String(),
  description: Type.String(),
  kind: Type.Union([Type.Literal('event'), Type.Literal('sequence'), Type.Literal('absence'), Type.Literal('segment'), Type.Literal('score')]),
  progress: Type.Number({ minimum: 0, maximum: 1, description: "Share of the pattern done (a sequence's matched steps; 1 for an absence waiting for its deadline)." }),
  detail: Type.String({ description: 'In words, e.g. "2 of 3 steps within 1d".' }),
  until: Nullable(Type.Integer({ description: "When the progress lapses (a sequence's window) or the rule fires (an absence's deadline)." })),
  blockedBy: Nullable(Type.String({ description: 'What would stop a firing from being sent now (cooldown, dismissal, `who` not met).' })),
});
export type NextTrigger = Static<typeof NextTrigger>;

export const CapLeft = Type.Object({
  channel: Nullable(Type.String({ description: 'null: the overall cap (every channel).' })),
  max: Type.Integer(),
  per: Type.String(),
  used: Type.Number(),
  left: Type.Number(),
});
export type CapLeft = Static<typeof CapLeft>;

/** What the engine would do next for this person, as of the page's `asOf`. */
export const NextView = Type.Object({
  triggers: Type.Array(NextTrigger, { description: 'Enabled rules with progress towards firing, closest first.' }),
  caps: Type.Array(CapLeft, { description: 'Fatigue caps: how many more commands may be sent, overall and per channel.' }),
});
export type NextView = Static<typeof NextView>;

/** GET /api/console/profiles/{profileId}: everything the agent's page shows of one person. */
export const ConsoleProfile = Type.Object({
  profileId: Type.String(),
  known: Type.Boolean(),
  firstSeen: Time,
  lastSeen: Time,
  asOf: Type.Integer({ description: 'Event time the page is computed at (scores decayed to it, caps counted back from it): the last touch.' }),
  timeZone: Nullable(Type.String()),
  identifiers: Type.Array(Type.Object({ type: Type.String(), hashes: Type.Array(Type.String()) }), {
    description: 'Hashed identifiers by type (the HMAC the engine stores, never the value).',
  }),
  channels: Type.Array(Type.Object({ channel: Type.String(), count: Type.Integer(), lastAt: Time, sessionDepth: Nullable(Type.Integer()) })),
  consent: Type.Array(Type.Object({ channel: Type.String(), purpose: Type.String(), granted: Type.Boolean(), at: Time })),
  scores: Type.Array(Type.Object({ name: Type.String(), value: Type.Number(), contributions: Type.Array(Type.Object({ signal: Type.String(), value: Type.Number() })) })),
  segments: Type.Array(Type.Object({ name: Type.String(), since: Time }), { description: 'Segments the person is in now, and since when.' }),
  journey: Type.Array(
    Type.Object({ at: Time, eventId: Type.String(), channel: Type.String(), eventType: Type.String(), category: Nullable(Type.String()), path: Nullable(Type.String()) }),
    { description: 'Most recent touchpoints across channels, newest first.' },
  ),
  commands: Type.Array(ConsoleCommand, { description: 'Commands sent to the person, newest first.' }),
  decisions: Type.Array(ConsoleDecision, { description: 'Decisions that sent nothing (held out, capped, no consent...), newest first.' }),
  merges: Type.Array(ConsoleMerge, { description: 'Profiles that became this one, newest first.' }),
  next: NextView,
});
export type ConsoleProfile = Static<typeof ConsoleProfile>;

export const LiftRow = Type.Object({
  triggerId: Type.String(),
  treated: Type.Integer(),
  treatedConverted: Type.Integer(),
  control: Type.Integer(),
  controlConverted: Type.Integer(),
  lift: Nullable(Type.Number({ description: 'Percentage points; null without data in both groups.' })),
  low: Nullable(Type.Number({ description: '95 % always-valid interval (fit to be watched live), percentage points.' })),
  high: Nullable(Type.Number()),
  enoughData: Type.Boolean({ description: '30 people in each group at least.' }),
});
export type LiftRow = Static<typeof LiftRow>;

/**
 * Wall-clock series, oldest bucket first: `times[i]` is the start of bucket
 * i, and every array of rates has one value per bucket (per second).
 */
export const LiveSeries = Type.Object({
  times: Type.Array(Time),
  touchpointsIn: Type.Array(Type.Number(), { description: 'Touchpoints arriving on touchpoints.raw, per second.' }),
  touchpointsProcessed: Type.Array(Type.Number(), { description: 'Touchpoints the engine committed as processed, per second.' }),
  deadLetters: Type.Array(Type.Number()),
  commandsByTrigger: Counts,
  commandsByChannel: Counts,
  suppressionsByOutcome: Type.Record(Type.String(), Type.Array(Type.Number()), { description: 'Decisions that sent nothing, per second by outcome.' }),
});
export type LiveSeries = Static<typeof LiveSeries>;

/** GET /api/console/live: the roll-up of the whole engine, from its topics and this instance's metrics. */
export const LiveSnapshot = Type.Object({
  at: Time,
  bucketMs: Type.Integer(),
  series: LiveSeries,
  lag: Type.Array(Type.Object({ topic: Type.String(), lag: Type.Integer() }), {
    description: "Records not yet processed, per source topic of the engine (end offset minus the group's committed offset).",
  }),
  segments: Type.Array(Type.Object({ name: Type.String(), size: Type.Integer() }), { description: 'Segment sizes, from segments.membership (enters minus exits).' }),
  lift: Type.Array(LiftRow),
  totals: Type.Object(
    { commands: Type.Integer(), decisions: Type.Integer(), deadLetters: Type.Integer(), merges: Type.Integer() },
    { description: 'Counted from the engine topics since the console started reading them (from the beginning they retain).' },
  ),
  readiness: Type.Object({
    ready: Type.Boolean(),
    instances: Type.Integer(),
    tasks: Type.Integer(),
    restoring: Type.Integer(),
    waiting: Nullable(Type.String({ description: 'What this instance waits for when it is not ready, in words.' })),
  }),
  recent: Type.Object({ commands: Type.Array(ConsoleCommand), decisions: Type.Array(ConsoleDecision) }, { description: 'Latest across the engine, newest first (bounded).' }),
});
export type LiveSnapshot = Static<typeof LiveSnapshot>;

/** GET /api/console/triggers/{triggerId}: the people behind a trigger's numbers. */
export const TriggerActivity = Type.Object({
  triggerId: Type.String(),
  description: Nullable(Type.String()),
  commands: Type.Array(ConsoleCommand),
  decisions: Type.Array(ConsoleDecision),
  lift: Nullable(LiftRow),
});
export type TriggerActivity = Static<typeof TriggerActivity>;

/** GET /api/console/segments/{name}: the people behind a segment's size. */
export const SegmentActivity = Type.Object({
  name: Type.String(),
  size: Type.Integer(),
  /** Latest entries and exits, newest first (bounded). */
  changes: Type.Array(
    Type.Object({
      profileId: Type.String(),
      change: Type.String({ description: 'enter or exit' }),
      at: Time,
      reason: Type.String({ description: 'touchpoint, timer, merge, erasure or retention' }),
    }),
  ),
});
export type SegmentActivity = Static<typeof SegmentActivity>;

/** Every error of the HTTP API. */
export const ApiError = Type.Object({ error: Type.String() }, { additionalProperties: true });
