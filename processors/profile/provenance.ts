import { emptyProfile, type ProfileState } from '../model/profile-state';
import type { Touchpoint } from '../model/touchpoint';
import type { ProfileConfig } from './config';
import { mergeProfiles } from './merge';
import { applyTouchpoint } from './state';

/**
 * What undoing a merge needs (identity.yaml `reversibleMerges`), kept in
 * the surviving profile for `horizon` of event time: both sides of each
 * undoable merge as they were when it began, and every touchpoint the
 * profile took in since. A split rebuilds each side from its state at the
 * merge and its own touchpoints since (`splitSides`); each node of the
 * profile task then rebuilds its own section the same way
 * (ProfileUpdate.split), so a side ends as it would be had the merge never
 * happened. Only merges made on the channels where people verify people by
 * hand keep it: it costs several KB per merged profile (bench/RESULTS.md,
 * "Sizing reversible merges").
 */
export interface Provenance {
  /** Undoable merges into this profile, oldest first. */
  merges: MergeRecord[];
  /** What the profile took in since the oldest merge began (touchpoints, and the states of profiles merged into it), in order. */
  log: LogEntry[];
  nextSeq: number;
  /** Identifiers a split gave back to a restored profile: a touchpoint with one of them that still reaches here goes there. */
  handedOver: HandedOver[];
}

export interface MergeRecord {
  loser: string;
  /** Event time of the linking touchpoint. */
  at: number;
  causeEventId: string;
  /** The first log entry after the merge began. */
  fromSeq: number;
  /** This profile when the merge began (before the linking touchpoint); null if it had no state. */
  winnerBefore: ProfileState | null;
  /** The loser's state as it arrived; null until it does, and if the loser had none. */
  loserState: ProfileState | null;
}

export type LogEntry = { seq: number; touchpoint: Touchpoint } | { seq: number; folded: ProfileState };

export interface HandedOver {
  to: string;
  identifiers: string[];
  at: number;
}

/** One side of an undone merge: what ProfileUpdate.split carries, and what the survivor sends the restored profile. */
export interface SplitSide {
  role: 'survivor' | 'restored';
  /** The side's state when the merge began, with the profiles merged into the side since folded in. */
  base: ProfileState;
  /** The other side's: what of the merged state is theirs. */
  otherBase: ProfileState;
  /** This side's touchpoints since the merge, in the order they were applied. */
  events: Touchpoint[];
  /** Event ids of the restored side's touchpoints since the merge: what they caused (commands, exposures) is the restored side's. */
  restoredEventIds: string[];
  /** The merged state when the split happened (without provenance). */
  merged: ProfileState;
}

/** A merge into `profile` began (the link task's notice, ahead of the linking touchpoint): keep its state as it is now. */
export function beginMerge(profile: ProfileState, loser: string, at: number, causeEventId: string): void {
  const provenance = (profile.provenance ??= { merges: [], log: [], nextSeq: 0, handedOver: [] });
  provenance.merges.push({ loser, at, causeEventId, fromSeq: provenance.nextSeq, winnerBefore: snapshot(profile), loserState: null });
}

/** Logs a touchpoint the profile took in, and forgets what is past the horizon (in the profile's own event time). */
export function logTouchpoint(profile: ProfileState, touchpoint: Touchpoint, horizon: number): void {
  const provenance = profile.provenance;
  if (provenance === undefined) return;
  provenance.log.push({ seq: provenance.nextSeq++, touchpoint });
  forgetPast(profile, horizon);
}

function forgetPast(profile: ProfileState, horizon: number): void {
  const provenance = profile.provenance!;
  const now = profile.lastSeen;
  if (provenance.merges.some((m) => now - m.at > horizon)) {
    provenance.merges = provenance.merges.filter((m) => now - m.at <= horizon);
    const from = provenance.merges[0]?.fromSeq ?? provenance.nextSeq;
    provenance.log = provenance.log.filter((e) => e.seq >= from);
  }
  if (provenance.merges.length === 0) provenance.log = [];
  if (provenance.handedOver.some((h) => now - h.at > horizon)) provenance.handedOver = provenance.handedOver.filter((h) => now - h.at <= horizon);
  if (provenance.merges.length === 0 && provenance.handedOver.length === 0) delete profile.provenance;
}

/**
 * The winner's provenance once a loser's state arrived (a new object: the
 * winner's stored state is not changed): the state of an undoable merge's
 * loser is that merge's other side; any other is logged, to be folded into
 * the side it belongs to if a merge before it is undone.
 */
export function withLoserState(provenance: Provenance | undefined, loser: ProfileState): Provenance | undefined {
  if (provenance === undefined) return undefined;
  const state = snapshot(loser);
  let own = false;
  const merges = provenance.merges.map((m) => {
    if (own || m.loser !== loser.id || m.loserState !== null) return m;
    own = true;
    return { ...m, loserState: state };
  });
  if (own) return { ...provenance, merges };
  return { ...provenance, log: [...provenance.log, { seq: provenance.nextSeq, folded: state }], nextSeq: provenance.nextSeq + 1 };
}

/** The restored profile a touchpoint reaching the survivor of a split belongs to, if any. */
export function handedOverTo(profile: ProfileState, touchpoint: Touchpoint): string | undefined {
  const handedOver = profile.provenance?.handedOver;
  if (handedOver === undefined || handedOver.length === 0) return undefined;
  for (const h of handedOver) if (touchpoint.identifiers.some((id) => h.identifiers.includes(id.value))) return h.to;
  return undefined;
}

export interface Split {
  survivor: SplitSide;
  restored: SplitSide;
  /** The survivor's state: the profile section rebuilt; the other sections as the base has them, for their nodes to rebuild. */
  survivorState: ProfileState;
  /** Hashed identifiers the restored side's own touchpoints brought in after the merge. */
  restoredIdentifiers: { type: string; value: string }[];
}

/**
 * Splits `profile` along its undoable merge with `restored`. The touchpoints
 * since the merge go to the restored side when they carry one of its
 * identifiers (those it had, those the graph gave back, and those its own
 * touchpoints brought since), else to the survivor; the linking touchpoint
 * goes to neither (the correction says it linked the wrong people, and its
 * identifiers cannot be told apart). A profile merged in since goes to the
 * side that holds one of its identifiers by then, else to the survivor.
 * Undoable merges made after this one can no longer be undone; earlier ones
 * still can. Undefined when the profile kept nothing for that merge.
 */
export function splitSides(profile: ProfileState, restored: string, mergeCauseEventId: string, givenBack: readonly string[], config: ProfileConfig): Split | undefined {
  const provenance = profile.provenance;
  const index = provenance?.merges.findIndex((m) => m.loser === restored && m.causeEventId === mergeCauseEventId) ?? -1;
  if (provenance === undefined || index < 0) return undefined;
  const record = provenance.merges[index]!;
  let survivorBase = record.winnerBefore ?? emptyProfile(profile.id, record.at);
  let restoredBase = record.loserState ?? emptyProfile(restored, record.at);

  const theirs = new Set<string>(givenBack);
  for (const keys of Object.values(restoredBase.identifiers)) for (const key of keys) theirs.add(key);
  const isTheirs = (keys: Iterable<string>) => {
    for (const key of keys) if (theirs.has(key)) return true;
    return false;
  };
  const before = new Set<string>(Object.values(survivorBase.identifiers).flat());
  const survivorEvents: Touchpoint[] = [];
  const restoredEvents: Touchpoint[] = [];
  const restoredIdentifiers: { type: string; value: string }[] = [];
  // Profiles merged into this one since: undoable merges' losers, then the others in the order they arrived.
  const folds: ProfileState[] = provenance.merges.slice(index + 1).flatMap((m) => (m.loserState ? [m.loserState] : []));
  for (const entry of provenance.log) {
    if (entry.seq < record.fromSeq) continue;
    if ('folded' in entry) {
      folds.push(entry.folded);
      continue;
    }
    const touchpoint = entry.touchpoint;
    if (touchpoint.eventId === mergeCauseEventId) continue;
    if (!isTheirs(touchpoint.identifiers.map((id) => id.value))) {
      survivorEvents.push(touchpoint);
      continue;
    }
    restoredEvents.push(touchpoint);
    for (const id of touchpoint.identifiers) {
      if (theirs.has(id.value)) continue;
      theirs.add(id.value);
      if (!before.has(id.value)) restoredIdentifiers.push(id);
    }
  }
  // A profile merged into this one since goes to the side whose touchpoints linked it (the linking touchpoint
  // comes before the loser's state, and brought the loser's identifiers to that side); the profile core's
  // merge rules do not depend on order (merge.ts), so it is folded into the side's base.
  for (const state of folds) {
    if (isTheirs(Object.values(state.identifiers).flat())) restoredBase = mergeProfiles(restoredBase, state, config);
    else survivorBase = mergeProfiles(survivorBase, state, config);
  }

  const merged = snapshot(profile);
  const restoredEventIds = restoredEvents.map((t) => t.eventId);
  const side = (role: SplitSide['role'], base: ProfileState, otherBase: ProfileState, events: Touchpoint[]): SplitSide => ({
    role,
    base,
    otherBase,
    events,
    restoredEventIds,
    merged,
  });
  const survivorState = rebuild(profile.id, survivorBase, survivorEvents, config);
  const restoredIds = new Set(restoredEventIds);
  const earlier = provenance.merges.slice(0, index);
  const handedOver = [...provenance.handedOver, { to: restored, identifiers: [...theirs], at: profile.lastSeen }];
  survivorState.provenance = {
    merges: earlier,
    log: earlier.length > 0 ? provenance.log.filter((e) => !('touchpoint' in e) || (!restoredIds.has(e.touchpoint.eventId) && e.touchpoint.eventId !== mergeCauseEventId)) : [],
    nextSeq: provenance.nextSeq,
    handedOver,
  };
  return {
    survivor: side('survivor', survivorBase, restoredBase, survivorEvents),
    restored: side('restored', restoredBase, survivorBase, restoredEvents),
    survivorState,
    restoredIdentifiers,
  };
}

/**
 * A side's profile: its base with its own touchpoints applied (the core
 * fields, as the profile node applies them). The other sections are the
 * base's until their nodes rebuild them from the same touchpoints.
 */
export function rebuild(id: string, base: ProfileState, events: readonly Touchpoint[], config: ProfileConfig): ProfileState {
  const state = snapshot(base);
  state.id = id;
  for (const touchpoint of events) applyTouchpoint(state, touchpoint, config);
  return state;
}

/** A deep copy without provenance (a side's snapshot never holds another's). */
function snapshot(profile: ProfileState): ProfileState {
  const { provenance: _kept, ...rest } = profile;
  return structuredClone(rest);
}
