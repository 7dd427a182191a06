import { outputs, type Processor, type ProcessorContext, type StreamRecord, type Timer } from '../../runtime/processor';
import { LIFT_STORE } from '../stores';
import type { MergeSides, ProfileUpdate } from '../model/profile-update';
import type { ProfileState } from '../model/profile-state';
import { engagementFromStored } from '../triggers/state';
import type { TriggerRules } from '../triggers/config';
import { parseDuration } from '../../config/duration';
import type { ExposureRecorded } from '../triggers/records';
import { attributeConversion, AttributionRules, pruneExposures, recordOutcome } from './attribution';
import type { OutcomesConfig } from './config';
import { emptyTally, tallyField, tallyOf, type LiftTally, type TriggerLift } from './lift';

/** What the `lift` store holds per trigger id (this task's partition only). */
export interface LiftEntry extends LiftTally {
  triggerId: string;
  /** Changes not yet emitted. */
  unsent: number;
  /** Event time of the last emit; null before the first. */
  emittedAt: number | null;
}

/**
 * Closes the loop. Receives every ProfileUpdate of the profile task (from
 * the profile node) and every exposure the eligibility node records:
 *
 * - outcome touchpoints (delivered, shown, clicked, converted, dismissed
 *   with outcome.commandId) move the sent command's status; dismissals feed
 *   fatigue (profile.engagement.dismissed);
 * - conversions (`converted`, or a configured conversion event such as
 *   purchase) are attributed to exposures inside the attribution window
 *   (attribution.ts);
 * - per trigger, running counts (treated, treatedConverted, control,
 *   controlConverted per person at their first exposure; the same for
 *   repeat exposures apart) live in store `lift` and go to child `lift` as
 *   TriggerLift records, throttled: after `everyChanges` changes, or when
 *   `maxInterval` of event time has passed since the last emit (a timer per
 *   trigger, key = trigger id, flushes what is left).
 *
 * Stores: `profiles` (the update's profile is the stored object; changed
 * in place), `lift`.
 */
export const OUTCOMES_OUTPUTS = outputs('to-lift');
type Out = (typeof OUTCOMES_OUTPUTS)[number];

export class OutcomesProcessor implements Processor<string, ProfileUpdate | ExposureRecorded, Out> {
  private readonly attribution: AttributionRules;
  private readonly everyChanges: number;
  private readonly maxInterval: number;

  constructor(config: OutcomesConfig, rules: TriggerRules) {
    this.attribution = new AttributionRules(config, rules);
    this.everyChanges = config.lift.everyChanges;
    this.maxInterval = parseDuration(config.lift.maxInterval);
  }

  async process(record: StreamRecord<string, ProfileUpdate | ExposureRecorded>, ctx: ProcessorContext<Out>): Promise<void> {
    const value = record.value;
    if ('kind' in value) {
      await this.count(value.triggerId, record.timestamp, ctx, tallyField(value.group, value.repeat, 'exposed'));
      return;
    }
    if (value.merge) return this.countOnce(value.profile, value.merge, record.timestamp, ctx);
    const touchpoint = value.touchpoint;
    if (touchpoint === null || !this.attribution.interesting.has(touchpoint.eventType)) return;
    const e = value.profile.engagement;
    const outcome = recordOutcome(e, touchpoint);
    if (outcome.dismissedTrigger !== undefined) ctx.count('dismissal');
    if (touchpoint.outcome?.commandId && !outcome.known) ctx.count('outcome-for-unknown-command');
    if (!this.attribution.isConversion(touchpoint.eventType)) return;
    pruneExposures(e, ctx.streamTime, this.attribution);
    for (const exposure of attributeConversion(e, touchpoint, record.timestamp, this.attribution)) {
      ctx.count(`conversion-${exposure.group}`);
      await this.count(exposure.triggerId, record.timestamp, ctx, tallyField(exposure.group, exposure.repeat === true, 'converted'));
    }
  }

  /**
   * Two profiles of one person that each had a first exposure to a trigger
   * were counted as two people. After their merge the later of the two is a
   * repeat: in the profile (its conversions count as a repeat's) and in the
   * counts, moved from first to repeat here (this partition's counts may go
   * below zero for the group; the sum over partitions is the person count).
   * Only exposures both sides still kept (the attribution window) can be
   * found: older ones stay counted twice.
   */
  private async countOnce(profile: ProfileState, merge: MergeSides, at: number, ctx: ProcessorContext<Out>): Promise<void> {
    if (!merge.winnerBefore) return;
    const firsts = (state: ProfileState) => new Map(engagementFromStored(state.engagement).exposures.filter((x) => x.repeat !== true).map((x) => [x.triggerId, x]));
    const loser = firsts(merge.loser);
    for (const [triggerId, kept] of firsts(merge.winnerBefore)) {
      const other = loser.get(triggerId);
      if (!other) continue;
      const later = kept.at > other.at || (kept.at === other.at && kept.commandId > other.commandId) ? kept : other;
      const exposures = profile.engagement.exposures;
      const i = exposures.findIndex((x) => x.triggerId === triggerId && x.commandId === later.commandId);
      if (i < 0) continue;
      // a new object: the exposure may be shared with the states the merge read
      const merged = (exposures[i] = { ...exposures[i]!, repeat: true });
      await this.move(triggerId, at, ctx, tallyField(merged.group, false, 'exposed'), tallyField(merged.group, true, 'exposed'));
      if (merged.converted) await this.move(triggerId, at, ctx, tallyField(merged.group, false, 'converted'), tallyField(merged.group, true, 'converted'));
      ctx.count('merged-exposure-repeat');
    }
  }

  /** The throttle interval passed with changes not yet emitted. */
  async onTimer(timer: Timer, ctx: ProcessorContext<Out>): Promise<void> {
    const store = ctx.store<LiftEntry>(LIFT_STORE);
    const entry = await store.get(timer.key);
    if (entry === undefined || entry.unsent === 0) return;
    this.emit(store.editable(timer.key, entry), ctx.streamTime, ctx);
  }

  private count(triggerId: string, at: number, ctx: ProcessorContext<Out>, field: keyof LiftTally): Promise<void> {
    return this.move(triggerId, at, ctx, null, field);
  }

  /** One count from `from` (none: a new exposure or conversion) to `to`, and the throttled emit. */
  private async move(triggerId: string, at: number, ctx: ProcessorContext<Out>, from: keyof LiftTally | null, to: keyof LiftTally): Promise<void> {
    const store = ctx.store<LiftEntry>(LIFT_STORE);
    const stored = await store.get(triggerId);
    const entry = stored ? store.editable(triggerId, stored) : { triggerId, ...emptyTally(), unsent: 0, emittedAt: null };
    if (from) entry[from]--;
    entry[to]++;
    entry.unsent++;
    const now = Math.max(at, ctx.streamTime);
    if (entry.emittedAt === null || entry.unsent >= this.everyChanges || now - entry.emittedAt >= this.maxInterval) this.emit(entry, now, ctx);
    else ctx.schedule(entry.emittedAt + this.maxInterval, triggerId);
    if (!stored) store.put(triggerId, entry);
  }

  private emit(entry: LiftEntry, now: number, ctx: ProcessorContext<Out>): void {
    const lift: TriggerLift = { triggerId: entry.triggerId, partition: ctx.partition, ...tallyOf(entry), asOf: now };
    ctx.forward('to-lift', liftKey(entry.triggerId, ctx.partition), lift, { timestamp: now });
    entry.unsent = 0;
    entry.emittedAt = now;
    ctx.cancel(entry.triggerId);
  }
}

/**
 * The key of a task's lift record on the compacted engagement.lift: the
 * trigger and the task partition. Keyed by trigger alone, compaction kept one
 * partition's counts per trigger and dropped the others' (found by the proof
 * suite), so the sum over partitions was lost.
 */
export function liftKey(triggerId: string, partition: number): string {
  return `${triggerId}/${partition}`;
}
