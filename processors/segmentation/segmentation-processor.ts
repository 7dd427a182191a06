import { outputs, type Processor, type ProcessorContext, type StreamRecord, type Timer } from '../../runtime/processor';
import { isForwarding, type ProfileEntry, type ProfileState, type SegmentMembershipState } from '../model/profile-state';
import type { ProfileUpdate } from '../model/profile-update';
import { PROFILES_STORE } from '../stores';
import { scoreValues } from '../scoring/state';
import { countTouchpoint, pruneCounters } from './counters';
import { Evaluation, type SegmentRules } from './rules';

/** schemas/SegmentMembership.avsc: a person entered or left a segment. */
export interface SegmentMembership {
  profileId: string;
  segment: string;
  change: 'enter' | 'exit';
  /** Event time of the change: stream time when an update saw it; the timer's time when time alone caused it. */
  at: number;
  reason: 'touchpoint' | 'timer' | 'merge' | 'split' | 'erasure' | 'retention';
  /** The values that decided it (windowed counts and sums, scores...). */
  values: Record<string, number>;
}

/**
 * Real-time segmentation, fused after scoring. On every update it counts
 * the touchpoint into the profile's counters and re-evaluates every
 * segment at stream time; changes go to 'to-membership' and the update
 * goes on to 'profile-view' and 'triggers'. Memberships that time alone
 * ends (a window sliding past, a score decaying, "no login in 30 days"
 * coming true) change on an event-time timer set for the earliest moment
 * any condition could flip, with no new event needed.
 */
export const SEGMENTATION_OUTPUTS = outputs('profile-view', 'triggers', 'to-membership');
type Out = (typeof SEGMENTATION_OUTPUTS)[number];

export class SegmentationProcessor implements Processor<string, ProfileUpdate, Out> {
  private readonly evaluation: Evaluation;
  /** By segment index: 1 when the profile was in the segment before this update. */
  private readonly was: Uint8Array;

  constructor(private readonly rules: SegmentRules) {
    this.evaluation = new Evaluation(rules);
    this.was = new Uint8Array(rules.segments.length);
  }

  process(record: StreamRecord<string, ProfileUpdate>, ctx: ProcessorContext<Out>): void {
    const update = record.value;
    const profile = update.profile;
    // Never evaluate before the profile's own latest event: a merge can bring in a side whose events
    // are ahead of this partition's stream time, and windows end at `now` (the erasure test saw a
    // merged mortgage shopper with three views counted and no segment).
    const now = Math.max(ctx.streamTime, profile.lastSeen);
    if (update.split) return this.afterSplit(record.key, update, now, ctx);
    if (update.touchpoint) countTouchpoint(profile, update.touchpoint, this.rules, now);
    pruneCounters(profile, this.rules, now);
    const merge = update.merge;
    // after a merge, changes are relative to what the winner was in, not to the union of both sides
    const before = merge ? (merge.winnerBefore?.segments ?? {}) : profile.segments;
    const changes = this.evaluate(record.key, profile, before, now, merge ? 'merge' : 'touchpoint', ctx);
    if (merge) {
      for (const segment in merge.loser.segments) this.emit(ctx, merge.loser.id, segment, 'exit', now, 'merge', {});
      ctx.cancel(merge.loser.id);
    }
    const next: ProfileUpdate = { ...update, ...changes };
    this.handOn(record.key, next, ctx);
  }

  /**
   * A merge undone: the side's counters are its base's (the profile node's
   * rebuild) with its own touchpoints counted again. The survivor was in
   * the merged profile's segments, and the restored profile, since its
   * merge, in none: changes are emitted against that (reason 'split'), and
   * a membership that goes on keeps its `since`.
   */
  private afterSplit(id: string, update: ProfileUpdate, now: number, ctx: ProcessorContext<Out>): void {
    const profile = update.profile;
    const side = update.split!;
    for (const touchpoint of side.events) countTouchpoint(profile, touchpoint, this.rules, now);
    pruneCounters(profile, this.rules, now);
    const before = side.role === 'survivor' ? side.merged.segments : {};
    profile.segments = { ...before };
    this.handOn(id, { ...update, ...this.evaluate(id, profile, before, now, 'split', ctx) }, ctx);
  }

  /** The update, with this node's changes, to the nodes after it. */
  private handOn(id: string, update: ProfileUpdate, ctx: ProcessorContext<Out>): void {
    ctx.forward('profile-view', id, update);
    ctx.forward('triggers', id, update);
  }

  prefetchTimer(timer: Timer): Iterable<[string, string]> {
    return [[PROFILES_STORE, timer.key]];
  }

  async onTimer(timer: Timer, ctx: ProcessorContext<Out>): Promise<void> {
    const profiles = ctx.store<ProfileEntry>(PROFILES_STORE);
    const entry = await profiles.get(timer.key);
    if (!entry || isForwarding(entry)) return;
    // Taken before it changes: if anything below throws, the task discards the change with the rest.
    const profile = profiles.editable(timer.key, entry);
    // Every evaluation replaces this timer, so none has happened since it was set: the state is as
    // of an earlier time and can be evaluated at the timer's own time, when the change happened.
    const now = timer.at;
    pruneCounters(profile, this.rules, now);
    const scoresBefore = scoreValues(profile.scores, now);
    const changes = this.evaluate(timer.key, profile, profile.segments, now, 'timer', ctx);
    if (changes.segmentsEntered.length === 0 && changes.segmentsExited.length === 0) return;
    const update: ProfileUpdate = { profile, cause: 'timer', touchpoint: null, scoresBefore, ...changes };
    this.handOn(timer.key, update, ctx);
  }

  /** Re-evaluates every segment at `now`, records and emits the changes against `before`, sets the next timer, and returns the changes. */
  private evaluate(
    id: string,
    profile: ProfileState,
    before: Record<string, SegmentMembershipState>,
    now: number,
    reason: SegmentMembership['reason'],
    ctx: ProcessorContext<Out>,
  ): Pick<ProfileUpdate, 'segmentsEntered' | 'segmentsExited'> {
    const ev = this.evaluation;
    ev.run(profile, now);
    const { was } = this;
    was.fill(0);
    for (const name in before) {
      const index = this.rules.segmentIndex.get(name);
      if (index !== undefined) was[index] = 1;
    }
    const entered: string[] = [];
    const exited: string[] = [];
    const current = profile.segments;
    const decided = ev.decided;
    let members = 0;
    for (let i = 0; i < decided.length; i++) {
      const holds = decided[i] === 1;
      if (holds) members++;
      if (decided[i] === was[i]) continue;
      const segment = this.rules.segments[i]!;
      if (holds) {
        current[segment.name] ??= { since: now };
        entered.push(segment.name);
      } else {
        delete current[segment.name];
        exited.push(segment.name);
      }
      this.emit(ctx, id, segment.name, holds ? 'enter' : 'exit', now, reason, ev.valuesOf(segment));
    }
    this.keepOnlyHolding(current, members);
    const next = ev.nextChange();
    if (next === Infinity) ctx.cancel(id);
    else ctx.schedule(next, id);
    return { segmentsEntered: entered, segmentsExited: exited };
  }

  /**
   * Leaves in `segments` only the segments that hold. Usually they are
   * exactly those already; not after a merge (the merged memberships are
   * both sides'), nor when a segment was taken out of the rules (it leaves
   * without an exit record: it no longer exists).
   */
  private keepOnlyHolding(segments: Record<string, SegmentMembershipState>, members: number): void {
    let size = 0;
    for (const _ in segments) size++;
    if (size === members) return;
    const decided = this.evaluation.decided;
    for (const name in segments) {
      const index = this.rules.segmentIndex.get(name);
      if (index === undefined || decided[index] !== 1) delete segments[name];
    }
  }

  private emit(
    ctx: ProcessorContext<Out>,
    profileId: string,
    segment: string,
    change: SegmentMembership['change'],
    at: number,
    reason: SegmentMembership['reason'],
    values: Record<string, number>,
  ): void {
    const membership: SegmentMembership = { profileId, segment, change, at, reason, values };
    ctx.forward('to-membership', profileId, membership, { timestamp: at });
  }
}
