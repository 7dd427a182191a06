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

export type ProfileEventBody = ResolvedTouchpoint | MergeInstruction | StateTransfer | ErasureInstruction;

/** A touchpoint whose identifiers are normalised and hashed. */
export interface ResolvedTouchpoint {
  kind: 'touchpoint';
  touchpoint: Touchpoint;
}

/** Sent to the losing profile: move your whole state into `winner` and forward what still reaches you. */
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
          : { [`${NS}ErasureInstruction`]: { causeEventId: b.causeEventId, inactiveSince: b.inactiveSince } };
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
    default:
      body = { kind: 'erase', causeEventId: value.causeEventId as string, inactiveSince: (value.inactiveSince as number | null | undefined) ?? null };
  }
  return { profileId: wire.profileId, at: wire.at, body };
}
