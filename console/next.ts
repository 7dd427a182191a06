import { formatDuration, parseDuration } from '../config/duration';
import type { ProfileState } from '../processors/model/profile-state';
import { valueAt } from '../processors/scoring/state';
import type { Condition } from '../processors/segmentation/conditions';
import type { EventFilter, TriggerSpec } from '../processors/triggers/config';
import { capUsage, compilePolicy, lastDismissal, type CompiledPolicy } from '../processors/triggers/eligibility';
import { longestSequencePrefix, settleAbsence } from '../processors/triggers/patterns';
import { compileRules, type CompiledTrigger } from '../processors/triggers/rules';
import type { ProductConfig } from '../topology';
import type { CapLeft, NextTrigger, NextView } from './model';

type Progress = Pick<NextTrigger, 'kind' | 'progress' | 'detail' | 'until'>;

/**
 * What the engine would do next for one person, as of event time `at`: the
 * enabled rules on their way to firing, closest first, and what is left of
 * each fatigue cap. Progress is read with the triggers node's own pattern
 * functions and caps are counted with eligibility's, so the agent's page
 * cannot tell a different story from the engine's.
 */
export function whatNext(state: ProfileState, config: Pick<ProductConfig, 'triggers' | 'eligibility'>, at: number): NextView {
  const policy = compilePolicy(config.eligibility);
  const specs = new Map(config.triggers.triggers.map((spec) => [spec.id, spec]));
  const triggers: NextTrigger[] = [];
  for (const trigger of compileRules(config.triggers).triggers) {
    const spec = specs.get(trigger.id)!;
    const progress = progressOf(trigger, spec, state, at);
    if (progress === undefined) continue;
    triggers.push({ triggerId: trigger.id, description: trigger.description, ...progress, blockedBy: blockedBy(trigger, spec, state, at, policy) });
  }
  triggers.sort((a, b) => b.progress - a.progress || lapsesFirst(a.until, b.until));

  const caps = config.eligibility.fatigue.caps.map((cap): CapLeft => {
    const { used } = capUsage(state.engagement, at - parseDuration(cap.per), cap.channel, policy.dismissalWeight);
    return { channel: cap.channel ?? null, max: cap.max, per: cap.per, used, left: Math.max(0, cap.max - used) };
  });
  return { triggers, caps };
}

/** undefined when there is nothing to show: single-event and segment rules fire in one step, so they have no progress to speak of. */
function progressOf(trigger: CompiledTrigger, spec: TriggerSpec, state: ProfileState, at: number): Progress | undefined {
  const when = trigger.when;
  const pattern = state.engagement.patterns[trigger.id];
  if (when.kind === 'sequence' && pattern?.kind === 'sequence') {
    // a run whose window closed before `at` can never complete
    const open = pattern.events.filter((e) => e[0] + when.within >= at);
    const picked = longestSequencePrefix(open, when.steps, when.within);
    if (picked.length === 0) return undefined;
    return {
      kind: 'sequence',
      progress: picked.length / when.steps,
      detail: `${picked.length} of ${when.steps} steps within ${formatDuration(when.within)}`,
      until: open[picked[0]!]![0] + when.within,
    };
  }
  if (when.kind === 'absence' && pattern?.kind === 'absence') {
    // settleAbsence rewrites the progress it is given: a copy leaves the person's state alone
    const { nextDue } = settleAbsence({ ...pattern }, when.within, trigger.grace, at);
    if (nextDue === undefined) return undefined;
    return { kind: 'absence', progress: 1, detail: `fires at ${iso(nextDue)} unless ${filterText(spec.when.absence!.missing)} happens`, until: nextDue };
  }
  if (when.kind === 'score') {
    const score = state.scores[when.score];
    if (score === undefined) return undefined;
    const value = valueAt(score, at);
    // falling towards `below`, the share is the other way round: the threshold's share of the score
    const progress = when.above !== undefined ? towards(value, when.above) : towards(when.below!, value);
    if (progress === 0) return undefined;
    const threshold = when.above !== undefined ? `reaches ${when.above}` : `falls below ${when.below}`;
    return { kind: 'score', progress, detail: `${when.score} is ${round(value)}; fires when it ${threshold}`, until: null };
  }
  return undefined;
}

/** What eligibility would refuse now, and the audience check the triggers node makes before it. */
function blockedBy(trigger: CompiledTrigger, spec: TriggerSpec, state: ProfileState, at: number, policy: CompiledPolicy): string | null {
  const reasons: string[] = [];
  if (trigger.who !== null && !trigger.who(state, at)) reasons.push(`who not met: ${conditionText(spec.who!)}`);
  const fired = state.engagement.lastFired[trigger.id];
  if (fired !== undefined && fired + trigger.cooldown > at) reasons.push(`cooldown until ${iso(fired + trigger.cooldown)}`);
  const dismissed = lastDismissal(state.engagement, trigger.id);
  if (dismissed !== undefined && dismissed + policy.dismissalCooldown > at) reasons.push(`dismissed; cooldown until ${iso(dismissed + policy.dismissalCooldown)}`);
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/**
 * How far `from` is on its way up to `to`, in (0, 1); 0 once it is there:
 * a crossing fires on the way past, so a score already past its threshold
 * has to go back first. Only a positive threshold makes a share.
 */
function towards(from: number, to: number): number {
  return to > 0 && from > 0 && from < to ? from / to : 0;
}

/** Earlier first, no time last. */
function lapsesFirst(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a - b;
}

const iso = (at: number): string => new Date(at).toISOString();

const round = (value: number): number => Math.round(value * 10) / 10;

const oneOf = (v: string | string[]): string => (Array.isArray(v) ? v.join(' or ') : v);

/** The event types and channels of a filter; its finer conditions (path, amounts...) are the rule's to tell. */
function filterText(f: EventFilter): string {
  return f.channel === undefined ? oneOf(f.eventType) : `${oneOf(f.eventType)} on ${oneOf(f.channel)}`;
}

/** `{known: true}`: the condition as written in triggers.yaml, in flow style. */
function conditionText(c: Condition): string {
  return JSON.stringify(c).replace(/"/g, '').replace(/([:,])/g, '$1 ');
}
