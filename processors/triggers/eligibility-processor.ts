import { outputs, type Processor, type ProcessorContext, type StreamRecord, type Timer } from '../../runtime/processor';
import { tallyOf, type LiftTally } from '../outcomes/lift';
import { LIFT_STORE, PROFILES_STORE } from '../stores';
import { isForwarding, type ProfileEntry, type ProfileState } from '../model/profile-state';
import type { EligibilityConfig, TriggerRules } from './config';
import { NO_LIFT, type LiftByTrigger } from './arbitration';
import { compilePolicy, decide, type CompiledPolicy } from './eligibility';
import { compileRules, type CompiledRules } from './rules';
import { keepNewest, LIMITS, type PendingFiring } from './state';
import type { FiredTriggers } from './trigger-processor';

/**
 * Decides, for each firing of the triggers node, whether to engage the
 * person, on which channel, or why not — consent, reach, quiet hours,
 * fatigue, cooldown, freshness, arbitration, holdout (eligibility.ts) —
 * and emits the result:
 *
 * - child `commands`: EngagementCommand, key profile id;
 * - child `decisions`: EngagementDecision for every firing that sent nothing;
 * - child `outcomes`: ExposureRecorded for every treatment send and control
 *   hold-out, so the outcomes node can count them for lift.
 *
 * Firings wait in profile.engagement.pending for the end of their
 * arbitration window (an event-time timer per profile, key = profile id);
 * with a window of 0s they are decided at once. Stores: `profiles`; `lift`,
 * read only, with `arbitration.method: expected-value` (the counts the
 * outcomes node of the same task keeps).
 */
export const ELIGIBILITY_OUTPUTS = outputs('to-commands', 'to-decisions', 'outcomes');
type Out = (typeof ELIGIBILITY_OUTPUTS)[number];

export class EligibilityProcessor implements Processor<string, FiredTriggers, Out> {
  private readonly rules: CompiledRules;
  private readonly policy: CompiledPolicy;

  constructor(config: EligibilityConfig, rules: TriggerRules) {
    this.policy = compilePolicy(config);
    this.rules = compileRules(rules);
  }

  async process(record: StreamRecord<string, FiredTriggers>, ctx: ProcessorContext<Out>): Promise<void> {
    const { profile, firings } = record.value;
    const now = ctx.streamTime;
    const e = profile.engagement;
    if (firings.length > 0) {
      // Join the window that is open, or open one.
      let windowEnd: number | undefined;
      for (const p of e.pending) if (p.decideAt >= now && (windowEnd === undefined || p.decideAt > windowEnd)) windowEnd = p.decideAt;
      const decideAt = windowEnd ?? now + this.policy.arbitrationWindow;
      for (const firing of firings) {
        if (e.pending.some((p) => p.triggerId === firing.triggerId && p.causeEventId === firing.causeEventId)) continue;
        e.pending.push({ ...firing, decideAt });
      }
      if (e.pending.length > LIMITS.pending) {
        ctx.count('pending-overflow', e.pending.length - LIMITS.pending);
        e.pending = keepNewest(e.pending, LIMITS.pending);
      }
    }
    await this.decideDue(profile, now, ctx);
  }

  prefetchTimer(timer: Timer): Iterable<[string, string]> {
    return [[PROFILES_STORE, timer.key]];
  }

  /** An arbitration window ended. */
  async onTimer(timer: Timer, ctx: ProcessorContext<Out>): Promise<void> {
    const store = ctx.store<ProfileEntry>(PROFILES_STORE);
    const entry = await store.get(timer.key);
    if (entry === undefined || isForwarding(entry)) return; // erased, or merged away: the winner holds the firings now
    if (entry.engagement.pending.length === 0) return;
    await this.decideDue(store.editable(timer.key, entry), ctx.streamTime, ctx);
  }

  /** Decides the firings whose window has ended and arms the timer for the rest. */
  private async decideDue(profile: ProfileState, now: number, ctx: ProcessorContext<Out>): Promise<void> {
    const e = profile.engagement;
    if (e.pending.length === 0) return;
    let due: PendingFiring[] | undefined;
    let next: number | undefined;
    for (const p of e.pending) {
      if (p.decideAt <= now) (due ??= []).push(p);
      else if (next === undefined || p.decideAt < next) next = p.decideAt;
    }
    if (next === undefined) ctx.cancel(profile.id);
    else ctx.schedule(next, profile.id);
    if (due === undefined) return;
    e.pending = next === undefined ? [] : e.pending.filter((p) => p.decideAt > now);
    const lift = await this.liftFor(due, ctx);
    for (const out of decide(profile, due, now, this.rules, this.policy, lift)) {
      ctx.forward(out.to, profile.id, out.value, { timestamp: now });
      if (out.to === 'to-commands') ctx.count('command-sent');
      else if (out.to === 'to-decisions') ctx.count(`suppressed-${out.value.outcome}`);
    }
  }

  /** The lift counts of the rules that may compete; none when priority decides or nothing competes. */
  private async liftFor(due: readonly PendingFiring[], ctx: ProcessorContext<Out>): Promise<LiftByTrigger> {
    if (this.rules.arbitration !== 'expected-value' || due.length < 2) return NO_LIFT;
    const store = ctx.store<LiftTally>(LIFT_STORE);
    const lift = new Map<string, LiftTally>();
    for (const triggerId of new Set(due.map((p) => p.triggerId))) {
      const entry = await store.get(triggerId);
      if (entry !== undefined) lift.set(triggerId, tallyOf(entry));
    }
    return lift;
  }
}
