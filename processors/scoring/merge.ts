import type { ScoreState } from '../model/profile-state';
import { decayTo } from './state';

/**
 * Folds the loser's scores into the winner's: both are brought to the
 * later reference time and added, signal by signal, except recency, where
 * the later event's counts (as it would have for one profile). Exact up to
 * floating-point rounding. Contributions are left untrimmed; the scoring
 * node keeps the largest ones when it sees the merge.
 */
export function mergeScores(winner: Record<string, ScoreState>, loser: Record<string, ScoreState>): Record<string, ScoreState> {
  const merged: Record<string, ScoreState> = {};
  for (const name in winner) merged[name] = copy(winner[name]!);
  for (const name in loser) {
    const other = copy(loser[name]!);
    const mine = merged[name];
    if (!mine) {
      merged[name] = other;
      continue;
    }
    const at = Math.max(mine.at, other.at);
    decayTo(mine, at);
    decayTo(other, at);
    for (const signal in other.contributions) {
      mine.contributions[signal] = (mine.contributions[signal] ?? 0) + other.contributions[signal]!;
    }
    const recency = mine.recency ?? 0;
    const otherRecency = other.recency ?? 0;
    const latest = Math.abs(otherRecency) > Math.abs(recency) ? otherRecency : recency;
    mine.value += other.value - (recency + otherRecency - latest);
    if (latest !== 0) mine.recency = latest;
  }
  return merged;
}

function copy(score: ScoreState): ScoreState {
  return { ...score, contributions: { ...score.contributions } };
}
