import type { SplitSide } from '../profile/provenance';
import type { ProfileState } from './profile-state';
import type { Touchpoint } from './touchpoint';

/**
 * What the fused nodes of the profile task hand each other (profile ->
 * scoring -> segmentation -> triggers -> eligibility). `profile` is the
 * object the `profiles` store holds, taken by the profile node with
 * `editable`: nodes change it in place and the store writes it once at
 * commit. The update itself is read-only: a node that adds what it learned
 * for the nodes after it forwards a new update (`{ ...update, scoresBefore }`).
 */
export interface ProfileUpdate {
  profile: ProfileState;
  cause: 'touchpoint' | 'merge' | 'timer' | 'split';
  /** The touchpoint that caused the update; null for merges, splits and timers. */
  touchpoint: Touchpoint | null;
  /** Score values before this update (set by scoring), to detect threshold crossings. */
  scoresBefore: Record<string, number>;
  /** Set by segmentation. */
  segmentsEntered: string[];
  segmentsExited: string[];
  /** Set for cause 'merge': the two states that were merged, so nodes can say what the merge changed. */
  merge?: MergeSides;
  /**
   * Set for cause 'split' (a merge undone): the profile's side, from which
   * each node rebuilds its own section (its base, then its own touchpoints
   * since the merge). A split is not behaviour: it fires no trigger.
   */
  split?: SplitSide;
}

export interface MergeSides {
  /** The merged-away profile's state, as transferred. */
  loser: ProfileState;
  /** The winner's state before the merge; null when the winner had none. */
  winnerBefore: ProfileState | null;
}
