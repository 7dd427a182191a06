import { outputs, type Processor, type ProcessorContext, type StreamRecord, type Timer } from '../../runtime/processor';
import { PROFILES_STORE } from '../stores';
import { isForwarding, type ProfileEntry, type ProfileState } from '../model/profile-state';
import type { ProfileUpdate } from '../model/profile-update';
import type { Touchpoint } from '../model/touchpoint';
import { valueAt } from '../scoring/state';
import type { TriggerRules } from './config';
import { splitEngagement } from './merge';
import { addAbsenceCancel, addAbsenceStart, addSequenceEvent, isLate, settleAbsence, takeSequence, type PatternMatch } from './patterns';
import { compileRules, type CompiledRules, type CompiledTrigger, type EventHook } from './rules';
import type { AbsenceProgress, Firing, SequenceProgress } from './state';

export const TRIGGER_OUTPUTS = outputs('eligibility');
type Out = (typeof TRIGGER_OUTPUTS)[number];

/** What the triggers node forwards to `eligibility`: the stored profile and what fired for it. */
export interface FiredTriggers {
  profile: ProfileState;
  cause: ProfileUpdate['cause'];
  /** Empty after a merge that fired nothing: eligibility still re-arms timers for the merged pending firings. */
  firings: Firing[];
}

const TIMER_SEPARATOR = '|';

/** Timer key of a trigger's absence deadline for one profile (trigger ids never contain '|'). */
export function absenceTimerKey(triggerId: string, profileId: string): string {
  return triggerId + TIMER_SEPARATOR + profileId;
}

/**
 * Detects the right moment: receives every ProfileUpdate of the profile
 * task (after segmentation) and decides which trigger rules fire for the
 * person — a single event, a sequence within a window, an absence (an
 * event-time timer at the deadline plus grace), a segment entered, a score
 * crossing a threshold, an account condition — then checks the rule's
 * audience (`who`). Firings go to child `eligibility`, which decides
 * whether and where to engage. Rules are compiled once (an index by event
 * type); most updates match nothing and cost one map lookup plus a look at
 * each watched score, without allocating (~80 ns with the shipped rules).
 *
 * Store `profiles` (read in onTimer). Timers: one per (trigger, profile) absence.
 */
export class TriggerProcessor implements Processor<string, ProfileUpdate, Out> {
  private readonly rules: CompiledRules;
  /** Watched scores as arrays: checked on every update (scoring reports every score), so without iterators. */
  private readonly scoreNames: string[];
  private readonly scoreTriggers: CompiledTrigger[][];
  /** Firings of the update or timer being handled (handling is synchronous after the store read). */
  private firings: Firing[] | undefined;

  constructor(rules: TriggerRules) {
    this.rules = compileRules(rules);
    this.scoreNames = [...this.rules.byScore.keys()];
    this.scoreTriggers = this.scoreNames.map((name) => this.rules.byScore.get(name)!);
  }

  process(record: StreamRecord<string, ProfileUpdate>, ctx: ProcessorContext<Out>): void {
    const update = record.value;
    const touchpoint = update.touchpoint;
    const hooks = touchpoint === null ? undefined : this.rules.byEventType.get(touchpoint.eventType);
    const profile = update.profile;
    this.firings = undefined;
    if (update.split) return this.afterSplit(profile, update, ctx);

    if (hooks !== undefined) this.onEvent(hooks, touchpoint!, profile, record.timestamp, ctx);
    if (update.segmentsEntered.length > 0 && this.rules.bySegment.size > 0) {
      for (const segment of update.segmentsEntered) {
        for (const trigger of this.rules.bySegment.get(segment) ?? []) {
          this.fire(trigger, syntheticCause(update, `segment:${segment}`, record.timestamp), profile, ctx);
        }
      }
    }
    for (let i = 0; i < this.scoreNames.length; i++) this.checkScore(this.scoreNames[i]!, this.scoreTriggers[i]!, update, record.timestamp, ctx);
    if (update.cause === 'merge') this.afterMerge(profile, ctx);

    const firings = this.firings;
    this.firings = undefined;
    if (firings !== undefined || update.cause === 'merge') {
      const out: FiredTriggers = { profile, cause: update.cause, firings: firings ?? [] };
      ctx.forward('eligibility', profile.id, out);
    }
  }

  /**
   * A score crossing: scoresBefore holds every score just before this
   * update at its event time, so the value after is taken at that time too
   * (decay alone is never a crossing).
   */
  private checkScore(name: string, triggers: CompiledTrigger[], update: ProfileUpdate, at: number, ctx: ProcessorContext<Out>): void {
    const before = update.scoresBefore[name];
    const score = update.profile.scores[name];
    if (before === undefined || score === undefined) return;
    const now = score.at >= at ? score.value : valueAt(score, at);
    if (now === before) return;
    for (const trigger of triggers) {
      const when = trigger.when as { kind: 'score'; above: number | undefined; below: number | undefined };
      const crossed = when.above !== undefined ? before < when.above && now >= when.above : before >= when.below! && now < when.below!;
      if (crossed) this.fire(trigger, syntheticCause(update, `score:${name}`, at), update.profile, ctx);
    }
  }

  /** A rule fired for the person: keep it if they are in its audience. */
  private fire(trigger: CompiledTrigger, match: PatternMatch, profile: ProfileState, ctx: ProcessorContext<Out>): void {
    if (trigger.who !== null && !trigger.who(profile, ctx.streamTime)) {
      ctx.count('audience-miss');
      return;
    }
    (this.firings ??= []).push({
      triggerId: trigger.id,
      causeEventId: match.causeEventId,
      causeEventIds: match.eventIds,
      causeAt: match.at,
      firedAt: ctx.streamTime,
    });
  }

  prefetchTimer(timer: Timer): Iterable<[string, string]> {
    return [[PROFILES_STORE, timer.key.slice(timer.key.indexOf(TIMER_SEPARATOR) + 1)]];
  }

  /** An absence deadline (plus grace) passed: fire the episodes nothing cancelled. */
  async onTimer(timer: Timer, ctx: ProcessorContext<Out>): Promise<void> {
    const split = timer.key.indexOf(TIMER_SEPARATOR);
    const triggerId = timer.key.slice(0, split);
    const profileId = timer.key.slice(split + 1);
    const store = ctx.store<ProfileEntry>(PROFILES_STORE);
    const stored = await store.get(profileId);
    if (stored === undefined || isForwarding(stored)) return; // erased, or merged away: the winner re-armed its own timers
    const trigger = this.rules.byId.get(triggerId);
    if (trigger === undefined || trigger.when.kind !== 'absence' || stored.engagement.patterns[triggerId]?.kind !== 'absence') return;
    const profile = store.editable(profileId, stored);
    const progress = profile.engagement.patterns[triggerId]!;
    this.firings = undefined;
    this.settle(trigger, profile, progress as Extract<typeof progress, { kind: 'absence' }>, ctx);
    const firings = this.firings;
    this.firings = undefined;
    if (firings !== undefined) {
      const out: FiredTriggers = { profile, cause: 'timer', firings };
      ctx.forward('eligibility', profileId, out, { timestamp: ctx.streamTime });
    }
  }

  private onEvent(hooks: EventHook[], touchpoint: Touchpoint, profile: ProfileState, at: number, ctx: ProcessorContext<Out>): void {
    for (const hook of hooks) {
      const trigger = hook.trigger;
      switch (hook.role) {
        case 'event':
          if (hook.match === null || hook.match(touchpoint)) {
            this.fire(trigger, { eventIds: [touchpoint.eventId], causeEventId: touchpoint.eventId, at }, profile, ctx);
          }
          break;
        case 'steps': {
          let mask = 0;
          for (const step of hook.steps) if (step.match === null || step.match(touchpoint)) mask |= step.bit;
          if (mask === 0) break;
          if (isLate(at, ctx.streamTime, trigger.grace)) {
            ctx.count('late-event-ignored');
            break;
          }
          const when = trigger.when as { kind: 'sequence'; steps: number; within: number };
          const progress = this.sequence(profile, trigger.id);
          const match = addSequenceEvent(progress, [at, touchpoint.eventId, mask], when.steps, when.within, ctx.streamTime - trigger.grace - when.within);
          if (progress.events.length === 0) delete profile.engagement.patterns[trigger.id];
          if (match) this.fire(trigger, match, profile, ctx);
          break;
        }
        case 'start':
        case 'cancel': {
          if (hook.match !== null && !hook.match(touchpoint)) break;
          if (isLate(at, ctx.streamTime, trigger.grace)) {
            ctx.count('late-event-ignored');
            break;
          }
          const progress = this.absence(profile, trigger.id);
          if (hook.role === 'start') addAbsenceStart(progress, at, touchpoint.eventId);
          else addAbsenceCancel(progress, at);
          this.settle(trigger, profile, progress, ctx);
          break;
        }
      }
    }
  }

  /** Merged profiles: sequences half-seen on each side may now be complete; absences need the winner's timers. */
  private afterMerge(profile: ProfileState, ctx: ProcessorContext<Out>): void {
    for (const trigger of this.rules.patterns) {
      const progress = profile.engagement.patterns[trigger.id];
      if (progress === undefined) continue;
      if (trigger.when.kind === 'sequence' && progress.kind === 'sequence') {
        const match = takeSequence(progress, trigger.when.steps, trigger.when.within);
        if (match) this.fire(trigger, match, profile, ctx);
      } else if (trigger.when.kind === 'absence' && progress.kind === 'absence') {
        this.settle(trigger, profile, progress, ctx);
      }
    }
  }

  /**
   * A merge undone: the side's engagement is taken from the merged one
   * (merge.ts, splitEngagement), its absences re-armed under its own id.
   * Nothing fires: a split is not something the person did.
   */
  private afterSplit(profile: ProfileState, update: ProfileUpdate, ctx: ProcessorContext<Out>): void {
    profile.engagement = splitEngagement(update.split!);
    this.afterMerge(profile, ctx);
    if (this.firings !== undefined) ctx.count('split-firing-dropped', this.firings.length);
    this.firings = undefined;
    const out: FiredTriggers = { profile, cause: update.cause, firings: [] };
    ctx.forward('eligibility', profile.id, out);
  }

  /** Brings an absence up to stream time: fires what is due, drops what was cancelled, re-arms the timer. */
  private settle(trigger: CompiledTrigger, profile: ProfileState, progress: AbsenceProgress, ctx: ProcessorContext<Out>): void {
    const when = trigger.when as { kind: 'absence'; within: number };
    const { fired, nextDue } = settleAbsence(progress, when.within, trigger.grace, ctx.streamTime);
    this.arm(absenceTimerKey(trigger.id, profile.id), progress, nextDue, trigger.grace, ctx);
    if (progress.starts.length === 0 && progress.cancels.length === 0) delete profile.engagement.patterns[trigger.id];
    for (const match of fired) this.fire(trigger, match, profile, ctx);
  }

  /**
   * The absence timer: at the next deadline plus grace; with no deadline
   * open but cancels remembered, once the last cancel is past the grace
   * (it can no longer cancel a late opening), to forget it; else none.
   */
  private arm(key: string, progress: AbsenceProgress, nextDue: number | undefined, grace: number, ctx: ProcessorContext<Out>): void {
    if (nextDue !== undefined) ctx.schedule(nextDue + grace, key);
    else if (progress.cancels.length > 0) ctx.schedule(progress.cancels[progress.cancels.length - 1]! + grace + 1, key);
    else ctx.cancel(key);
  }

  private sequence(profile: ProfileState, triggerId: string): SequenceProgress {
    const existing = profile.engagement.patterns[triggerId];
    if (existing?.kind === 'sequence') return existing;
    const fresh: SequenceProgress = { kind: 'sequence', events: [] };
    profile.engagement.patterns[triggerId] = fresh;
    return fresh;
  }

  private absence(profile: ProfileState, triggerId: string): AbsenceProgress {
    const existing = profile.engagement.patterns[triggerId];
    if (existing?.kind === 'absence') return existing;
    const fresh: AbsenceProgress = { kind: 'absence', starts: [], cancels: [] };
    profile.engagement.patterns[triggerId] = fresh;
    return fresh;
  }
}

/**
 * A cause for a firing that no single touchpoint made (a segment entered on
 * a timer, a merge): the touchpoint when there is one, else a deterministic
 * id naming the cause and its event time, so command ids stay stable.
 */
function syntheticCause(update: ProfileUpdate, what: string, at: number): PatternMatch {
  const id = update.touchpoint !== null ? update.touchpoint.eventId : `${update.cause}:${what}@${at}`;
  return { eventIds: [id], causeEventId: id, at };
}
