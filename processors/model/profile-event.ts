import type { Touchpoint } from './touchpoint';

/**
 * What travels on touchpoints.resolved, keyed by canonical profile id: one
 * union-typed stream, so the profile task sees touchpoints, merges, state
 * transfers and erasures of a profile in Kafka's per-key order.
 * schemas/ProfileEvent.avsc is the wire form.
 */
export interface ProfileEvent {
  profileId: string;
  /** Event time of the cause (the touchpoint, the link, the erasure request). */
  at: number;
  body: ProfileEventBody;
}

export type ProfileEventBody = ResolvedTouchpoint | MergeInstruction | StateTransfer | ErasureInstruction | SplitInstruction | SplitSideTransfer;

/** A touchpoint whose identifiers are normalised and hashed. */
export interface ResolvedTouchpoint {
  kind: 'touchpoint';
  touchpoint: Touchpoint;
}

/**
 * Sent to the losing profile: move your whole state into `winner` and
 * forward what still reaches you. A merge that can be undone (identity.yaml
 * `reversibleMerges`) also sends it to the winner first, ahead of the
 * linking touchpoint: keep what a split would need from here on.
 */
export interface MergeInstruction {
  kind: 'merge';
  loser: string;
  winner: string;
  /** eventId of the linking touchpoint. */
  causeEventId: string;
}

/** Sent to the winning profile: the loser's whole state, to fold in with the merge rules. */
export interface StateTransfer {
  kind: 'state';
  from: string;
  into: string;
  /** The loser's ProfileState as stored (JSON). */
  state: Buffer;
}

/** Sent to a profile to delete it everywhere: right to erasure, or retention after inactivity. */
export interface ErasureInstruction {
  kind: 'erase';
  causeEventId: string;
  /** Retention: the last touch when the profile was found inactive; a profile touched since is kept. Null for an erasure. */
  inactiveSince: number | null;
}

/** Sent to the surviving profile when a merge is undone: rebuild both sides, keep yours, send the other to `restored`. */
export interface SplitInstruction {
  kind: 'split';
  survivor: string;
  restored: string;
  /** eventId of the touchpoint that made the merge. */
  mergeCauseEventId: string;
  /** eventId of the identity_correction. */
  causeEventId: string;
  /** Hashed identifiers the graph points to `restored` again. */
  identifiers: string[];
}

/** Sent by the survivor of an undone merge to the restored profile: its side (processors/profile/provenance.ts), as JSON. */
export interface SplitSideTransfer {
  kind: 'side';
  from: string;
  into: string;
  causeEventId: string;
  side: Buffer;
}

const NS = 'dev.listeningpost.';

/** The Avro form of a ProfileEvent (schemas/ProfileEvent.avsc): the body is a wrapped union. */
export interface ProfileEventWire {
  profileId: string;
  at: number;
  body: Record<string, unknown>;
}

export function profileEventToWire(event: ProfileEvent): ProfileEventWire {
  const b = event.body;
  const body =
    b.kind === 'touchpoint'
      ? { [`${NS}Touchpoint`]: b.touchpoint }
      : b.kind === 'merge'
        ? { [`${NS}MergeInstruction`]: { loser: b.loser, winner: b.winner, causeEventId: b.causeEventId } }
        : b.kind === 'state'
          ? { [`${NS}StateTransfer`]: { from: b.from, into: b.into, state: b.state } }
          : b.kind === 'erase'
            ? { [`${NS}ErasureInstruction`]: { causeEventId: b.causeEventId, inactiveSince: b.inactiveSince } }
            : b.kind === 'split'
              ? { [`${NS}SplitInstruction`]: { survivor: b.survivor, restored: b.restored, mergeCauseEventId: b.mergeCauseEventId, causeEventId: b.causeEventId, identifiers: b.identifiers } }
              : { [`${NS}SplitSide`]: { from: b.from, into: b.into, causeEventId: b.causeEventId, side: b.side } };
  return { profileId: event.profileId, at: event.at, body };
}

export function profileEventFromWire(wire: ProfileEventWire): ProfileEvent {
  const [name, value] = Object.entries(wire.body)[0] as [string, Record<string, unknown>];
  let body: ProfileEventBody;
  switch (name) {
    case `${NS}Touchpoint`:
      body = { kind: 'touchpoint', touchpoint: value as unknown as Touchpoint };
      break;
    case `${NS}MergeInstruction`:
      body = { kind: 'merge', loser: value.loser as string, winner: value.winner as string, causeEventId: value.causeEventId as string };
      break;
    case `${NS}StateTransfer`:
      body = { kind: 'state', from: value.from as string, into: value.into as string, state: value.state as Buffer };
      break;
    case `${NS}SplitInstruction`:
      body = {
        kind: 'split',
        survivor: value.survivor as string,
        restored: value.restored as string,
        mergeCauseEventId: value.mergeCauseEventId as string,
        causeEventId: value.causeEventId as string,
        identifiers: value.identifiers as string[],
      };
      break;
    case `${NS}SplitSide`:
      body = { kind: 'side', from: value.from as string, into: value.into as string, causeEventId: value.causeEventId as string, side: value.side as Buffer };
      break;
    default:
      body = { kind: 'erase', causeEventId: value.causeEventId as string, inactiveSince: (value.inactiveSince as number | null | undefined) ?? null };
  }
  return { profileId: wire.profileId, at: wire.at, body };
}
