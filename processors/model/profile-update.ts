import type { ProcessorContext } from '../../runtime/processor';
import { PROFILES } from '../profile/profile-processor';
import { isForwarding, type ProfileEntry, type ProfileState } from './profile-state';
import type { Touchpoint } from './touchpoint';

/**
 * What the fused nodes of the profile task hand each other (profile ->
 * scoring -> segmentation -> triggers -> eligibility; outcomes and the
 * view nodes read it too). Each node adds what it learned for the nodes
 * after it, in a new update: a forwarded one is read-only.
 *
 * Who writes the profile: every node that changes it. The `profiles`
 * store holds the current version; `profile` here is a read-only snapshot
 * of it as of the forward. A node that changes the profile starts from
 * the current version (`currentProfile`, a cache hit), not from the
 * snapshot: a node that ran before it since the forward may have written
 * one (outcomes runs before scoring, both children of the profile node,
 * and records dismissals that eligibility must see). It replaces only the
 * sections it owns (profile-state.ts) with new objects, shares the rest,
 * `put`s the result and forwards that. Puts of one profile between two
 * commits still make one changelog record.
 */
export interface ProfileUpdate {
  profile: ProfileState;
  cause: 'touchpoint' | 'merge' | 'timer';
  /** The touchpoint that caused the update; null for merges and timers. */
  touchpoint: Touchpoint | null;
  /** Score values before this update (set by scoring), to detect threshold crossings. */
  scoresBefore: Record<string, number>;
  /** Set by segmentation. */
  segmentsEntered: string[];
  segmentsExited: string[];
  /** Set for cause 'merge': the two states that were merged, so nodes can say what the merge changed. */
  merge?: MergeSides;
}

export interface MergeSides {
  /** The merged-away profile's state, as transferred. */
  loser: ProfileState;
  /** The winner's state before the merge; null when the winner had none. */
  winnerBefore: ProfileState | null;
}

/** The stored, current version of a profile the fused nodes are handling (the profile node stored it). */
export async function currentProfile(ctx: ProcessorContext, id: string): Promise<ProfileState> {
  const entry = await ctx.store<ProfileEntry>(PROFILES).get(id);
  if (entry === undefined || isForwarding(entry)) throw new Error(`profile ${id} is not stored as a live profile`);
  return entry;
}
