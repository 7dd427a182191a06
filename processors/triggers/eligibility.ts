import { createHash } from 'node:crypto';
import type { ProfileState } from '../model/profile-state';
import { valueAt } from '../scoring/state';
import type { EligibilityConfig, Purpose } from './config';
import { arbitrate, NO_LIFT, type LiftByTrigger } from './arbitration';
import { consentFor } from './consent';
import { formatDuration, parseDuration } from '../../config/duration';
import type { DecisionCheck, DecisionOutcome, DecisionTrace, EngagementCommand, EngagementDecision, ExposureRecorded } from './records';
import type { ChannelOption, CompiledRules, CompiledTrigger } from './rules';
import { keepNewest, LIMITS, type EngagementState, type Firing, type HoldoutGroup } from './state';

// --- ids and hashes ---------------------------------------------------------------------------

/**
 * Deterministic id of what one firing led to: sha256 of (trigger, profile,
 * causing event), hex, first 32 characters (128 bits). The same firing
 * replayed gives the same id; a decision that sent nothing carries the id
 * the command would have had.
 */
export function commandId(triggerId: string, profileId: string, causeEventId: string): string {
  return createHash('sha256').update(`${triggerId}\u0000${profileId}\u0000${causeEventId}`).digest('hex').slice(0, 32);
}

/** Where (profile, trigger) falls on [0, 100): the first 48 bits of sha256(salt, trigger, profile). */
export function holdoutPoint(salt: string, triggerId: string, profileId: string): number {
  const hex = createHash('sha256').update(`${salt}\u0000${triggerId}\u0000${profileId}`).digest('hex').slice(0, 12);
  return (parseInt(hex, 16) / 2 ** 48) * 100;
}

/** The stable group of a profile for a trigger: control when its point is below the holdout percent. */
export function holdoutGroup(salt: string, triggerId: string, profileId: string, percent: number): HoldoutGroup {
  return holdoutPoint(salt, triggerId, profileId) < percent ? 'control' : 'treatment';
}

// --- the policy, compiled ---------------------------------------------------------------------

interface Cap {
  max: number;
  per: number;
  label: string;
}

interface ChannelRule {
  reach: 'session' | 'identifier' | 'always';
  sessionGap: number;
  identifierTypes: string[];
  quiet: { from: number; to: number; label: string; purposes: Purpose[] | null } | null;
  caps: Cap[];
}

export interface CompiledPolicy {
  defaultTimeZone: string;
  allowWithoutRecord: ReadonlySet<string>;
  channels: ReadonlyMap<string, ChannelRule>;
  overallCaps: Cap[];
  dismissalWeight: number;
  dismissalCooldown: number;
  arbitrationWindow: number;
  salt: string;
  /** How long sends are kept for the caps. */
  sentRetention: number;
  /** How long dismissals are kept for the caps and the dismissal cooldown. */
  dismissalRetention: number;
}

/** Sends are kept at least this long (outcomes map a command id to its trigger with them; the profile view shows them). */
const MIN_SENT_RETENTION = 86_400_000;

const minutes = (clock: string): number => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

const compiledPolicies = new WeakMap<EligibilityConfig, CompiledPolicy>();

export function compilePolicy(config: EligibilityConfig): CompiledPolicy {
  const cached = compiledPolicies.get(config);
  if (cached) return cached;
  const cap = (c: { max: number; per: string }): Cap => ({ max: c.max, per: parseDuration(c.per), label: `${c.max} per ${c.per}` });
  const channels = new Map<string, ChannelRule>();
  for (const [name, ch] of Object.entries(config.channels)) {
    channels.set(name, {
      reach: ch.reach,
      sessionGap: ch.sessionGap ? parseDuration(ch.sessionGap) : 0,
      identifierTypes: ch.identifierTypes ?? [],
      quiet: ch.quietHours
        ? {
            from: minutes(ch.quietHours.from),
            to: minutes(ch.quietHours.to),
            label: `${ch.quietHours.from}-${ch.quietHours.to}`,
            purposes: ch.quietHours.purposes ?? null,
          }
        : null,
      caps: config.fatigue.caps.filter((c) => c.channel === name).map(cap),
    });
  }
  const overallCaps = config.fatigue.caps.filter((c) => c.channel === undefined).map(cap);
  const longestCap = Math.max(0, ...config.fatigue.caps.map((c) => parseDuration(c.per)));
  const dismissalCooldown = parseDuration(config.fatigue.dismissals.triggerCooldown);
  const policy: CompiledPolicy = {
    defaultTimeZone: config.defaultTimeZone,
    allowWithoutRecord: new Set(config.consent.allowWithoutRecord),
    channels,
    overallCaps,
    dismissalWeight: config.fatigue.dismissals.countAs,
    dismissalCooldown,
    arbitrationWindow: parseDuration(config.arbitration.window),
    salt: config.holdout.salt,
    sentRetention: Math.max(longestCap, MIN_SENT_RETENTION),
    dismissalRetention: Math.max(longestCap, dismissalCooldown),
  };
  compiledPolicies.set(config, policy);
  return policy;
}

// --- local time -------------------------------------------------------------------------------

const clocks = new Map<string, Intl.DateTimeFormat | null>();

function clockIn(zone: string): Intl.DateTimeFormat | null {
  let clock = clocks.get(zone);
  if (clock === undefined) {
    try {
      clock = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    } catch {
      clock = null;
    }
    clocks.set(zone, clock);
  }
  return clock;
}

/** Minutes since local midnight at event time `at` in `zone`; undefined for an unknown zone. */
export function localMinuteOfDay(at: number, zone: string): number | undefined {
  const clock = clockIn(zone);
  if (clock === null) return undefined;
  let hour = 0;
  let minute = 0;
  for (const part of clock.formatToParts(at)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

/** Is a local minute inside [from, to)? A period with from > to spans midnight. */
export function inQuietHours(minute: number, from: number, to: number): boolean {
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

const clockText = (minute: number): string => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
const day = (at: number): string => new Date(at).toISOString();

// --- deciding ---------------------------------------------------------------------------------

/** What one decision produced, for the processor to forward. */
export type DecisionOutput =
  | { to: 'to-commands'; value: EngagementCommand }
  | { to: 'to-decisions'; value: EngagementDecision }
  | { to: 'outcomes'; value: ExposureRecorded };

interface Evaluation {
  firing: Firing;
  trigger: CompiledTrigger;
  /** What the command is, or would have been, called. */
  commandId: string;
  checks: DecisionCheck[];
  /** Set when a check failed. */
  outcome: DecisionOutcome | undefined;
  option: ChannelOption | undefined;
}

/** Channel selection stages, in order: how far the best channel got decides the reason when none passes. */
const STAGE_OUTCOME: DecisionOutcome[] = ['no_consent', 'no_reachable_channel', 'quiet_hours', 'capped'];

/**
 * Decides a set of firings for one person at stream time `now`, in this
 * order, every check recorded in the trace:
 *
 * 1. channel selection, per allowed channel in preference order: consent
 *    (channel + purpose), reach (session channels only while the session
 *    is active; outbound channels when an identifier for them is known),
 *    quiet hours in the person's time zone, the channel's own caps
 *    (`fatigue`); the first channel that passes all four is used;
 * 2. fatigue: overall caps, counting every command sent on every channel
 *    and every decision held out (plus dismissals, weighted);
 * 3. cooldown of the trigger (since it last engaged the person, and since
 *    the person dismissed it);
 * 4. freshness: decided later than the trigger's maxDelay after its cause
 *    is stale (a stale firing must not outrank a fresh one, so this runs
 *    before arbitration);
 * 5. arbitration: of the firings that passed 1-4, only one goes on: the
 *    highest priority (then the earliest cause, then trigger id), or with
 *    `arbitration.method: expected-value` the best draw of expected value
 *    from the rules' `lift` counts (arbitration.ts);
 * 6. holdout: the winner's control members get nothing (held_out); the
 *    command they would have had is recorded in `heldOut` for the caps.
 *
 * Changes `profile.engagement` (sent, heldOut, lastFired, holdout, exposures) and
 * returns the records to forward.
 */
export function decide(
  profile: ProfileState,
  firings: readonly Firing[],
  now: number,
  rules: CompiledRules,
  policy: CompiledPolicy,
  lift: LiftByTrigger = NO_LIFT,
): DecisionOutput[] {
  const e = profile.engagement;
  prune(profile, now, policy);
  const evaluations: Evaluation[] = [];
  for (const firing of firings) {
    const trigger = rules.byId.get(firing.triggerId);
    if (trigger === undefined) continue; // the rule was removed or disabled since it fired
    evaluations.push(evaluate(profile, firing, trigger, now, policy));
  }

  const contenders = evaluations.filter((ev) => ev.outcome === undefined);
  const { winner, details } = arbitrate(contenders, rules.arbitration, lift);
  for (const ev of contenders) {
    ev.checks.push({ check: 'arbitration', passed: ev === winner, detail: details.get(ev)! });
    if (ev !== winner) ev.outcome = 'outranked';
  }

  const outputs: DecisionOutput[] = [];
  for (const ev of evaluations) {
    const { trigger, commandId: id } = ev;
    const group = (e.holdout[trigger.id] ??= holdoutGroup(policy.salt, trigger.id, profile.id, trigger.holdoutPercent));
    if (ev === winner) {
      const share = `${trigger.holdoutPercent}% held out`;
      ev.checks.push({ check: 'holdout', passed: group === 'treatment', detail: `${group} group (${share})` });
      if (group === 'control') {
        ev.outcome = 'held_out';
        e.heldOut.push({ at: now, decisionId: id, triggerId: trigger.id, channel: ev.option!.channel });
        e.heldOut = keepNewest(e.heldOut, LIMITS.heldOut);
      }
      const repeat = e.lastFired[trigger.id] !== undefined;
      e.lastFired[trigger.id] = now;
      e.exposures.push({ at: now, triggerId: trigger.id, group, commandId: id, converted: false, repeat });
      e.exposures = keepNewest(e.exposures, LIMITS.exposures);
      outputs.push({ to: 'outcomes', value: { kind: 'exposure', profileId: profile.id, triggerId: trigger.id, group, commandId: id, at: now, repeat } });
    }
    const trace = traceOf(profile, ev, now);
    if (ev.outcome === undefined) {
      const option = ev.option!;
      e.sent.push({ at: now, commandId: id, triggerId: trigger.id, channel: option.channel, action: option.action, status: 'sent' });
      e.sent = keepNewest(e.sent, LIMITS.sent);
      outputs.push({
        to: 'to-commands',
        value: {
          commandId: id,
          profileId: profile.id,
          triggerId: trigger.id,
          channel: option.channel,
          action: option.action,
          contentRef: option.contentRef,
          priority: trigger.priority,
          createdAt: now,
          expiresAt: now + trigger.ttl,
          trace,
        },
      });
    } else {
      outputs.push({
        to: 'to-decisions',
        value: { decisionId: id, profileId: profile.id, triggerId: trigger.id, outcome: ev.outcome, decidedAt: now, trace },
      });
    }
  }
  return outputs;
}

function evaluate(profile: ProfileState, firing: Firing, trigger: CompiledTrigger, now: number, policy: CompiledPolicy): Evaluation {
  const ev: Evaluation = { firing, trigger, commandId: commandId(trigger.id, profile.id, firing.causeEventId), checks: [], outcome: undefined, option: undefined };
  const checks = ev.checks;

  // 1. channel selection: consent, reach, quiet hours, the channel's caps
  let furthest = -1;
  for (const option of trigger.channels) {
    const stage = tryChannel(profile, option.channel, trigger.purpose, now, policy, checks);
    if (stage === 4) {
      ev.option = option;
      break;
    }
    furthest = Math.max(furthest, stage);
  }
  if (ev.option === undefined) {
    ev.outcome = STAGE_OUTCOME[Math.max(furthest, 0)]!;
    return ev;
  }

  // 2. overall fatigue
  const e = profile.engagement;
  for (const cap of policy.overallCaps) {
    const usage = capUsage(e, now - cap.per, undefined, policy.dismissalWeight);
    const parts = usageParts(usage);
    if (usage.dismissed > 0) parts.push(`${usage.dismissed} dismissed × ${policy.dismissalWeight}`);
    const detail = `overall: ${usage.used} of ${cap.label}${parts.length > 1 ? ` (${parts.join(' + ')})` : ''}`;
    if (usage.used >= cap.max) {
      checks.push({ check: 'fatigue', passed: false, detail });
      ev.outcome = 'capped';
      return ev;
    }
    checks.push({ check: 'fatigue', passed: true, detail });
  }

  // 3. cooldown: since the trigger last engaged the person, and since they dismissed it
  const last = e.lastFired[trigger.id];
  if (last !== undefined && now - last < trigger.cooldown) {
    checks.push({ check: 'cooldown', passed: false, detail: `engaged ${formatDuration(now - last)} ago; cooldown ${formatDuration(trigger.cooldown)}` });
    ev.outcome = 'cooldown';
    return ev;
  }
  const dismissedAt = lastDismissal(e, trigger.id);
  if (dismissedAt !== undefined && now - dismissedAt < policy.dismissalCooldown) {
    checks.push({
      check: 'cooldown',
      passed: false,
      detail: `dismissed ${formatDuration(now - dismissedAt)} ago; re-eligible after ${formatDuration(policy.dismissalCooldown)}`,
    });
    ev.outcome = 'cooldown';
    return ev;
  }
  checks.push({
    check: 'cooldown',
    passed: true,
    detail: last === undefined ? `not engaged before (cooldown ${formatDuration(trigger.cooldown)})` : `engaged ${formatDuration(now - last)} ago (cooldown ${formatDuration(trigger.cooldown)})`,
  });

  // 4. freshness
  const delay = now - firing.causeAt;
  const freshness = `decided ${formatDuration(delay)} after the cause (max ${formatDuration(trigger.maxDelay)})`;
  if (delay > trigger.maxDelay) {
    checks.push({ check: 'freshness', passed: false, detail: freshness });
    ev.outcome = 'stale';
    return ev;
  }
  checks.push({ check: 'freshness', passed: true, detail: freshness });
  return ev;
}

/** Runs the per-channel checks; returns the stage reached: 0 consent, 1 reach, 2 quiet hours, 3 caps failed, 4 all passed. */
function tryChannel(profile: ProfileState, channel: string, purpose: Purpose, now: number, policy: CompiledPolicy, checks: DecisionCheck[]): number {
  const consent = consentFor(profile, channel, purpose);
  if (consent === undefined) {
    const allowed = policy.allowWithoutRecord.has(purpose);
    checks.push({
      check: 'consent',
      passed: allowed,
      detail: `${channel}: no consent record for ${purpose}${allowed ? `; ${purpose} is allowed without one` : ''}`,
    });
    if (!allowed) return 0;
  } else {
    checks.push({
      check: 'consent',
      passed: consent.granted,
      detail: `${channel}: ${consent.key} ${consent.granted ? 'granted' : 'withdrawn'} ${day(consent.at)}`,
    });
    if (!consent.granted) return 0;
  }

  const rule = policy.channels.get(channel);
  if (rule === undefined) {
    checks.push({ check: 'reach', passed: false, detail: `${channel}: no channel policy configured` });
    return 1;
  }
  if (rule.reach === 'session') {
    const session = profile.channels[channel]?.session ?? null;
    const idle = session === null ? undefined : now - session.lastAt;
    const active = idle !== undefined && idle <= rule.sessionGap;
    const detail =
      idle === undefined
        ? `${channel}: no session`
        : active
          ? `${channel}: session active (last activity ${formatDuration(Math.max(0, idle))} ago)`
          : `${channel}: session over (last activity ${formatDuration(idle)} ago; gap ${formatDuration(rule.sessionGap)})`;
    checks.push({ check: 'reach', passed: active, detail });
    if (!active) return 1;
  } else if (rule.reach === 'identifier') {
    const type = rule.identifierTypes.find((t) => (profile.identifiers[t]?.length ?? 0) > 0);
    checks.push({
      check: 'reach',
      passed: type !== undefined,
      detail: type !== undefined ? `${channel}: ${type} known` : `${channel}: no ${rule.identifierTypes.join(' or ')} known`,
    });
    if (type === undefined) return 1;
  } else {
    checks.push({ check: 'reach', passed: true, detail: `${channel}: always reachable` });
  }

  if (rule.quiet !== null && (rule.quiet.purposes === null || rule.quiet.purposes.includes(purpose))) {
    let zone = profile.timeZone?.value ?? policy.defaultTimeZone;
    let minute = localMinuteOfDay(now, zone);
    if (minute === undefined) {
      zone = policy.defaultTimeZone;
      minute = localMinuteOfDay(now, zone)!;
    }
    const quiet = inQuietHours(minute, rule.quiet.from, rule.quiet.to);
    checks.push({
      check: 'quiet_hours',
      passed: !quiet,
      detail: `${channel}: ${clockText(minute)} in ${zone} is ${quiet ? 'inside' : 'outside'} quiet hours ${rule.quiet.label}`,
    });
    if (quiet) return 2;
  }

  for (const cap of rule.caps) {
    const usage = capUsage(profile.engagement, now - cap.per, channel, policy.dismissalWeight);
    const parts = usageParts(usage);
    const detail = `${channel}: ${usage.used} of ${cap.label}${parts.length > 1 ? ` (${parts.join(' + ')})` : ''}`;
    checks.push({ check: 'fatigue', passed: usage.used < cap.max, detail });
    if (usage.used >= cap.max) return 3;
  }
  return 4;
}

/** What a fatigue cap counts, and the total it compares with its max. */
export interface CapUsage {
  sent: number;
  heldOut: number;
  /** Counted by overall caps only. */
  dismissed: number;
  used: number;
}

/**
 * What a cap counts after `since` (on `channel`, or on every channel when
 * undefined: an overall cap): commands sent and decisions held out alike,
 * so treatment and control people reach a cap at the same points; an
 * overall cap adds each dismissal with `dismissalWeight`, so a person who
 * pushes back is capped sooner everywhere.
 */
export function capUsage(e: EngagementState, since: number, channel: string | undefined, dismissalWeight: number): CapUsage {
  const counts = (list: readonly { at: number; channel: string }[]): number => {
    let n = 0;
    for (const x of list) if (x.at > since && (channel === undefined || x.channel === channel)) n++;
    return n;
  };
  const sent = counts(e.sent);
  const heldOut = counts(e.heldOut);
  let dismissed = 0;
  if (channel === undefined && dismissalWeight > 0) for (const d of e.dismissed) if (d.at > since) dismissed++;
  return { sent, heldOut, dismissed, used: sent + heldOut + dismissed * dismissalWeight };
}

/** When the person last dismissed the trigger; undefined if never (or forgotten). */
export function lastDismissal(e: EngagementState, triggerId: string): number | undefined {
  let at: number | undefined;
  for (const d of e.dismissed) if (d.triggerId === triggerId && (at === undefined || d.at > at)) at = d.at;
  return at;
}

/** `n sent`, and `n held out` when there are any: a cap reached by hold-outs says so in the trace. */
function usageParts(engaged: { sent: number; heldOut: number }): string[] {
  return engaged.heldOut > 0 ? [`${engaged.sent} sent`, `${engaged.heldOut} held out`] : [`${engaged.sent} sent`];
}

/** The rule, its causes, the scores (at decision time) and segments it reads, and the checks. */
function traceOf(profile: ProfileState, ev: Evaluation, now: number): DecisionTrace {
  const scores: Record<string, number> = {};
  for (const name of ev.trigger.scoreRefs) {
    const score = profile.scores[name];
    if (score !== undefined) scores[name] = valueAt(score, now);
  }
  return {
    rule: ev.trigger.description,
    causeEventIds: ev.firing.causeEventIds,
    scores,
    segments: ev.trigger.segmentRefs.filter((s) => profile.segments[s] !== undefined),
    checks: ev.checks,
  };
}

/** Forgets sends, hold-outs and dismissals older than any cap or cooldown still looks at. */
function prune(profile: ProfileState, now: number, policy: CompiledPolicy): void {
  const e = profile.engagement;
  e.sent = newerThan(e.sent, now - policy.sentRetention);
  e.heldOut = newerThan(e.heldOut, now - policy.sentRetention);
  e.dismissed = newerThan(e.dismissed, now - policy.dismissalRetention);
}

/** The entries of a list sorted oldest first that are later than `since`; the list itself when none is older. */
function newerThan<T extends { at: number }>(list: T[], since: number): T[] {
  return list.length > 0 && list[0]!.at <= since ? list.filter((x) => x.at > since) : list;
}
