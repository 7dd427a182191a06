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

/** Sent to a profile to delete it everywhere (right to erasure). */
export interface ErasureInstruction {
  kind: 'erase';
  causeEventId: string;
}
