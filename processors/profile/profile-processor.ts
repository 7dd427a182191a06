import { parseDuration } from '../../config/duration';
import type { ReversibleMerges } from '../identity/config';
import { outputs, type Processor, type ProcessorContext, type StreamRecord, type Timer } from '../../runtime/processor';
import type { MergeInstruction, ProfileEvent, ResolvedTouchpoint, SplitInstruction, SplitSideTransfer, StateTransfer } from '../model/profile-event';
import { emptyProfile, isForwarding, type ProfileEntry, type ProfileState } from '../model/profile-state';
import type { ProfileUpdate } from '../model/profile-update';
import { touchpoint as internalTouchpoint, EVENT, type Touchpoint } from '../model/touchpoint';
import type { SegmentMembership } from '../segmentation/segmentation-processor';
import type { ProfileConfig } from './config';
import { mergeProfiles } from './merge';
import { beginMerge, handedOverTo, logTouchpoint, rebuild, splitSides, withLoserState, type SplitSide } from './provenance';
import { applyTouchpoint, isDuplicate } from './state';
import { PROFILES_STORE } from '../stores';
import { engagementFromStored } from '../triggers/state';

/** Store of ProfileEntry by profile id: a live profile, or the pointer a merge left. */
export const PROFILE_OUTPUTS = outputs('to-resolved', 'outcomes', 'scoring', 'profile-view', 'to-membership', 'to-links');
type Out = (typeof PROFILE_OUTPUTS)[number];

/**
 * The head of the fused profile task (touchpoints.resolved, keyed by
 * profile id). Touchpoints update the unified profile and go on to
 * 'scoring' as a ProfileUpdate. Identity instructions move state: a merge
 * turns the loser into a forwarding pointer and sends its whole state to
 * the winner through 'to-resolved' (back to touchpoints.resolved, so it is
 * ordered with the winner's own records); the winner folds it in with
 * mergeProfiles. Anything that still reaches a pointer is re-addressed.
 * Erasure deletes the entry (a tombstone in the changelog). Views of
 * profiles that are gone are deleted through 'profile-view' (a null value).
 *
 * Retention (profile.yaml `retention`) runs on one event-time timer per
 * entry, set when it is created and moved only when it fires (a busy
 * profile costs one timer write per `inactiveAfter`, not one per
 * touchpoint): a profile inactive that long is forgotten like an erasure,
 * and asks the identity graph's writer (through identity.links) to release
 * its identifiers; a forwarding pointer is removed `forwardingPointersFor`
 * after its merge.
 *
 * Undoable merges (identity.yaml `reversibleMerges`): the winner is told a
 * merge began, ahead of the linking touchpoint, and keeps what a split
 * needs (provenance.ts). A split instruction comes by way of the restored
 * profile (so that it follows the loser's state, which that profile sent
 * first) and rebuilds both sides: the survivor keeps its own, and sends the
 * other side to the restored profile, which takes it in place of its
 * forwarding pointer. Each side's update (cause 'split') goes down the
 * chain so that every node rebuilds its own section.
 */
export class ProfileProcessor implements Processor<string, ProfileEvent, Out> {
  /** How long an undoable merge's provenance is kept, ms (identity.yaml `reversibleMerges.horizon`). */
  private readonly horizon: number;

  constructor(
    private readonly config: ProfileConfig,
    reversible?: ReversibleMerges,
  ) {
    this.horizon = reversible ? parseDuration(reversible.horizon) : 0;
  }

  prefetch(record: StreamRecord<string, ProfileEvent>): Iterable<[string, string]> {
    return [[PROFILES_STORE, record.key]];
  }

  async process(record: StreamRecord<string, ProfileEvent>, ctx: ProcessorContext<Out>): Promise<void> {
    const event = record.value;
    const profiles = ctx.store<ProfileEntry>(PROFILES_STORE);
    const entry = await profiles.get(record.key);
    switch (event.body.kind) {
      case 'touchpoint':
        return this.touch(record.key, entry, event, event.body, ctx);
      case 'merge':
        if (event.body.winner === record.key) return this.mergeBegins(record.key, entry, event, event.body, ctx);
        return this.mergeAway(record.key, entry, event, event.body, ctx);
      case 'state':
        return this.foldIn(record.key, entry, event, event.body, ctx);
      case 'erase':
        return this.erase(record.key, entry, event.at, event.body.inactiveSince, event.body.causeEventId, ctx);
      case 'split':
        // At the restored profile first: its state went to the survivor before this, in the same order.
        if (record.key === event.body.restored) return ctx.forward('to-resolved', event.body.survivor, { ...event, profileId: event.body.survivor });
        return this.split(record.key, entry, event, event.body, ctx);
      case 'side':
        return this.restore(record.key, entry, event.body, ctx);
    }
  }

  private touch(id: string, entry: ProfileEntry | undefined, event: ProfileEvent, body: ResolvedTouchpoint, ctx: ProcessorContext<Out>): void {
    if (isForwarding(entry)) {
      ctx.count('rerouted');
      ctx.forward('to-resolved', entry.mergedInto, { ...event, profileId: entry.mergedInto });
      return;
    }
    const touchpoint = body.touchpoint;
    const handedOver = entry && handedOverTo(entry, touchpoint);
    if (handedOver) {
      ctx.count('rerouted');
      ctx.forward('to-resolved', handedOver, { ...event, profileId: handedOver });
      return;
    }
    if (entry && isDuplicate(entry, touchpoint)) {
      ctx.count('duplicate');
      return;
    }
    // Taken before it changes: the nodes after this one change it too, and if any throws, the task
    // discards the change with the rest of the record's.
    const profiles = ctx.store<ProfileEntry>(PROFILES_STORE);
    const profile = entry ? profiles.editable(id, entry) : emptyProfile(id, touchpoint.occurredAt);
    if (!entry) {
      profiles.put(id, profile);
      this.expireAfter(id, touchpoint.occurredAt, ctx);
    }
    applyTouchpoint(profile, touchpoint, this.config);
    logTouchpoint(profile, touchpoint, this.horizon);
    const update = newUpdate(profile, 'touchpoint', touchpoint);
    // Outcomes first: a dismissal in this touchpoint must count as fatigue before its own decisions.
    ctx.forward('outcomes', id, update);
    ctx.forward('scoring', id, update);
  }

  /** At the loser: leave a pointer, send the whole state to the winner, withdraw the loser's view. */
  private mergeAway(id: string, entry: ProfileEntry | undefined, event: ProfileEvent, body: MergeInstruction, ctx: ProcessorContext<Out>): void {
    if (isForwarding(entry) || body.winner === id) {
      ctx.log.warn({ profileId: id, winner: body.winner }, 'merge instruction for a profile already merged away, or into itself; ignored');
      ctx.count('merge-ignored');
      return;
    }
    ctx.store<ProfileEntry>(PROFILES_STORE).put(id, { mergedInto: body.winner, at: event.at });
    const { pointersFor } = this.config.retention;
    if (pointersFor === null) ctx.cancel(id);
    else ctx.schedule(event.at + pointersFor, id);
    if (entry) {
      // the loser's own provenance goes no further: a split gives a side back as it was
      const state = Buffer.from(JSON.stringify({ ...entry, provenance: undefined }), 'utf8');
      const transfer: ProfileEvent = { profileId: body.winner, at: event.at, body: { kind: 'state', from: id, into: body.winner, state } };
      ctx.forward('to-resolved', body.winner, transfer);
    }
    ctx.forward('profile-view', id, null);
    ctx.count('merged-away');
  }

  /** At the winner: fold the loser's state in; a winner that was itself merged away passes it on. */
  private foldIn(id: string, entry: ProfileEntry | undefined, event: ProfileEvent, body: StateTransfer, ctx: ProcessorContext<Out>): void {
    if (isForwarding(entry)) {
      ctx.count('rerouted');
      ctx.forward('to-resolved', entry.mergedInto, { ...event, profileId: entry.mergedInto, body: { ...body, into: entry.mergedInto } });
      return;
    }
    const transferred = JSON.parse(body.state.toString('utf8')) as ProfileState;
    const loser: ProfileState = { ...transferred, engagement: engagementFromStored(transferred.engagement) };
    const profiles = ctx.store<ProfileEntry>(PROFILES_STORE);
    // Taken to own: the merged state keeps parts of the winner's (an exposure, the provenance log),
    // and the nodes after this one change them in place.
    const winnerBefore = entry ? profiles.editable(id, entry) : null;
    const merged: ProfileState = winnerBefore ? mergeProfiles(winnerBefore, loser, this.config) : { ...loser, id, viewedAt: null };
    const provenance = withLoserState(winnerBefore?.provenance, loser);
    if (provenance) merged.provenance = provenance;
    profiles.put(id, merged);
    if (!winnerBefore) this.expireAfter(id, merged.lastSeen, ctx);
    ctx.count('merged');
    const update: ProfileUpdate = { ...newUpdate(merged, 'merge', null), merge: { loser, winnerBefore } };
    // Outcomes first, as for a touchpoint: a person exposed on both sides counts once from here on.
    ctx.forward('outcomes', id, update);
    ctx.forward('scoring', id, update);
  }

  /** An undoable merge into this profile begins: keep the profile as it is now, and log what it takes in from here. */
  private mergeBegins(id: string, entry: ProfileEntry | undefined, event: ProfileEvent, body: MergeInstruction, ctx: ProcessorContext<Out>): void {
    if (entry === undefined || isForwarding(entry)) {
      // no state to keep (a split would rebuild this side from nothing), or merged away meanwhile (its winner is not told)
      ctx.count('merge-provenance-skipped');
      return;
    }
    beginMerge(ctx.store<ProfileEntry>(PROFILES_STORE).editable(id, entry), body.loser, event.at, body.causeEventId);
  }

  /**
   * An undoable merge into this profile was wrong: rebuild both sides from
   * the provenance, keep this one, send the other to the restored profile,
   * and hand the graph the identifiers its own touchpoints brought in since.
   */
  private split(id: string, entry: ProfileEntry | undefined, event: ProfileEvent, body: SplitInstruction, ctx: ProcessorContext<Out>): void {
    const live = entry !== undefined && !isForwarding(entry) ? entry : undefined;
    const split = live && splitSides(live, body.restored, body.mergeCauseEventId, body.identifiers, this.config);
    if (!live || !split) {
      const why = live ? 'kept no provenance of that merge (past the horizon?)' : 'is gone or merged away';
      ctx.log.warn({ profileId: id, restored: body.restored, mergeCauseEventId: body.mergeCauseEventId }, `split instruction: the survivor ${why}; the restored profile starts empty`);
      ctx.count('split-without-provenance');
      this.sendSide(id, body, emptySide(body.restored, event.at), event.at, ctx);
      return;
    }
    const survivor = split.survivorState;
    survivor.viewedAt = live.viewedAt;
    ctx.store<ProfileEntry>(PROFILES_STORE).put(id, survivor);
    this.sendSide(id, body, split.restored, event.at, ctx);
    if (split.restoredIdentifiers.length > 0) {
      const handOver = internalTouchpoint({
        eventId: `${EVENT.splitIdentifiers}:${body.causeEventId}`,
        occurredAt: event.at,
        channel: 'engine',
        eventType: EVENT.splitIdentifiers,
        identifiers: split.restoredIdentifiers,
        attributes: { profileId: body.restored, from: id },
      });
      ctx.forward('to-links', id, handOver, { timestamp: event.at });
    }
    ctx.count('split');
    this.rebuilt(id, survivor, split.survivor, ctx);
  }

  private sendSide(id: string, body: SplitInstruction, side: SplitSide, at: number, ctx: ProcessorContext<Out>): void {
    const transfer: ProfileEvent = {
      profileId: body.restored,
      at,
      body: { kind: 'side', from: id, into: body.restored, causeEventId: body.causeEventId, side: Buffer.from(JSON.stringify(side), 'utf8') },
    };
    ctx.forward('to-resolved', body.restored, transfer);
  }

  /** The restored side of an undone merge arrives: it replaces the forwarding pointer the merge left. */
  private restore(id: string, entry: ProfileEntry | undefined, body: SplitSideTransfer, ctx: ProcessorContext<Out>): void {
    const side = JSON.parse(body.side.toString('utf8')) as SplitSide;
    let restored = rebuild(id, side.base, side.events, this.config);
    restored.viewedAt = null;
    if (entry !== undefined && !isForwarding(entry)) {
      // The pointer had expired (profile.yaml forwardingPointersFor shorter than the horizon), so touchpoints
      // given back by the graph started a profile here: its core is kept; the nodes after rebuild the rest from the side.
      ctx.log.warn({ profileId: id, from: body.from }, 'restored side of a split arrived at a live profile; folded in');
      restored = mergeProfiles(restored, entry, this.config);
    }
    ctx.store<ProfileEntry>(PROFILES_STORE).put(id, restored);
    this.expireAfter(id, restored.lastSeen, ctx);
    ctx.count('restored');
    this.rebuilt(id, restored, side, ctx);
  }

  /** Hands a rebuilt side down the chain: each node rebuilds its section from the side (a split fires nothing). */
  private rebuilt(id: string, profile: ProfileState, side: SplitSide, ctx: ProcessorContext<Out>): void {
    const update: ProfileUpdate = { ...newUpdate(profile, 'split', null), split: side };
    ctx.forward('scoring', id, update);
  }

  prefetchTimer(timer: Timer): Iterable<[string, string]> {
    return [[PROFILES_STORE, timer.key]];
  }

  /** Retention: a pointer old enough goes; a profile inactive long enough is forgotten; anything else waits again. */
  async onTimer(timer: Timer, ctx: ProcessorContext<Out>): Promise<void> {
    const profiles = ctx.store<ProfileEntry>(PROFILES_STORE);
    const entry = await profiles.get(timer.key);
    if (entry === undefined) return;
    const { inactiveAfter, pointersFor } = this.config.retention;
    if (isForwarding(entry)) {
      if (pointersFor === null) return;
      if (timer.at < entry.at + pointersFor) return ctx.schedule(entry.at + pointersFor, timer.key);
      profiles.delete(timer.key);
      ctx.count('pointer-expired');
      return;
    }
    if (inactiveAfter === null) return;
    if (timer.at < entry.lastSeen + inactiveAfter) return this.expireAfter(timer.key, entry.lastSeen, ctx);
    // The graph releases the identifiers first, then sends the erase back: a person who comes back
    // in between is seen here before it, and kept.
    ctx.forward('to-links', timer.key, identityRequest(EVENT.retentionExpired, entry, timer.at), { timestamp: timer.at });
  }

  private expireAfter(id: string, lastSeen: number, ctx: ProcessorContext<Out>): void {
    const { inactiveAfter } = this.config.retention;
    if (inactiveAfter !== null) ctx.schedule(lastSeen + inactiveAfter, id);
  }

  /**
   * Right to erasure (the person asked), or retention (`inactiveSince`: the
   * last touch when the profile was found inactive). A profile touched
   * since is kept, and asks for its identifiers back in the graph.
   */
  private erase(id: string, entry: ProfileEntry | undefined, at: number, inactiveSince: number | null, cause: string, ctx: ProcessorContext<Out>): void {
    if (inactiveSince === null) {
      this.forget(id, entry, at, 'erasure', ctx);
      ctx.count('erased');
      return;
    }
    if (entry && !isForwarding(entry) && entry.lastSeen > inactiveSince) {
      ctx.forward('to-links', id, identityRequest(EVENT.retentionCancelled, entry, at, cause), { timestamp: at });
      this.expireAfter(id, entry.lastSeen, ctx);
      ctx.count('retention-cancelled');
      return;
    }
    this.forget(id, entry, at, 'retention', ctx);
    ctx.count('expired');
  }

  /** Forgets the person: the entry (a tombstone in the changelog), every node's timer for them, the view, and every segment they were in. */
  private forget(id: string, entry: ProfileEntry | undefined, at: number, reason: 'erasure' | 'retention', ctx: ProcessorContext<Out>): void {
    ctx.store<ProfileEntry>(PROFILES_STORE).delete(id);
    ctx.cancelAll(id);
    ctx.forward('profile-view', id, null);
    if (entry && !isForwarding(entry)) {
      for (const segment of Object.keys(entry.segments).sort()) {
        const exit: SegmentMembership = { profileId: id, segment, change: 'exit', at, reason, values: {} };
        ctx.forward('to-membership', id, exit, { timestamp: at });
      }
    }
  }
}

/**
 * What the profile task asks of the identity graph's single writer about
 * retention (an internal event type on identity.links, never accepted from
 * touchpoints.raw): release a person's identifiers, or link them again.
 */
function identityRequest(eventType: string, profile: ProfileState, at: number, cause = ''): Touchpoint {
  const identifiers = Object.entries(profile.identifiers).flatMap(([type, keys]) => keys.map((value) => ({ type, value })));
  return internalTouchpoint({
    eventId: `${eventType}:${profile.id}:${at}${cause ? `:${cause}` : ''}`,
    occurredAt: at,
    channel: 'engine',
    eventType,
    identifiers: eventType === EVENT.retentionCancelled ? identifiers : [],
    attributes: { profileId: profile.id, lastSeen: String(profile.lastSeen), firstSeen: String(profile.firstSeen) },
  });
}

/** The side of a split whose survivor kept nothing of the merge: the restored profile starts from nothing. */
function emptySide(restored: string, at: number): SplitSide {
  const empty = emptyProfile(restored, at);
  return { role: 'restored', base: empty, otherBase: empty, events: [], restoredEventIds: [], merged: empty };
}

function newUpdate(profile: ProfileState, cause: ProfileUpdate['cause'], touchpoint: ProfileUpdate['touchpoint']): ProfileUpdate {
  return { profile, cause, touchpoint, scoresBefore: {}, segmentsEntered: [], segmentsExited: [] };
}
