import type { ScoreState } from '../model/profile-state';
import type { Hits } from './model';

/**
 * A score is a sum of weighted signals, each decaying exponentially on
 * event time. It is stored as its value at a reference time `at` (the
 * latest event scored), so adding an event and decaying commute: an event
 * at t adds weight * 2^-((at - t) / halfLife), whatever order events come
 * in, and two profiles' scores add up once brought to the same `at`.
 */

export function decay(elapsed: number, halfLife: number): number {
  return elapsed <= 0 ? 1 : Math.pow(2, -elapsed / halfLife);
}

/** The score's value at `at`; a time before its reference time gives the value at the reference time. */
export function valueAt(score: ScoreState, at: number): number {
  return score.value * decay(at - score.at, score.halfLife);
}

/** Every score's value at `at`. */
export function scoreValues(scores: Record<string, ScoreState>, at: number): Record<string, number> {
  const values: Record<string, number> = {};
  for (const name in scores) values[name] = valueAt(scores[name]!, at);
  return values;
}

/** Moves the reference time forward to `at`, in place. */
export function decayTo(score: ScoreState, at: number): void {
  if (at <= score.at) return;
  const factor = decay(at - score.at, score.halfLife);
  score.value *= factor;
  for (const name in score.contributions) score.contributions[name]! *= factor;
  if (score.recency !== undefined) score.recency *= factor;
  score.at = at;
}

/**
 * Adds one event's hits (and its recency, which replaces an older one's)
 * to a score, in place; returns the score, a new one if there was none, or
 * `score` unchanged when the event contributes nothing.
 */
export function addEvent(
  score: ScoreState | undefined,
  at: number,
  hits: Hits,
  recency: number,
  halfLife: number,
  keep: number,
): ScoreState | undefined {
  if (hits.size === 0 && recency === 0) return score;
  if (!score) score = { value: 0, at, halfLife, contributions: {} };
  else {
    decayTo(score, at);
    score.halfLife = halfLife;
  }
  const worth = decay(score.at - at, halfLife);
  let added = false;
  for (let i = 0; i < hits.size; i++) {
    const weight = hits.weights[i]! * worth;
    const name = hits.names[i]!;
    const current = score.contributions[name];
    if (current === undefined) added = true;
    score.contributions[name] = (current ?? 0) + weight;
    score.value += weight;
  }
  if (recency !== 0) {
    const latest = recency * worth;
    const current = score.recency ?? 0;
    if (Math.abs(latest) > Math.abs(current)) {
      score.value += latest - current;
      score.recency = latest;
    }
  }
  if (added) keepLargest(score.contributions, keep);
  return score;
}

/**
 * Keeps the `keep` contributions of largest magnitude (ties: the name first
 * in text order stays). The value is kept apart, so it stays exact; only
 * the explanation loses the small signals.
 */
export function keepLargest(contributions: Record<string, number>, keep: number): void {
  let size = 0;
  for (const _ in contributions) size++;
  if (size <= keep) return;
  const ranked = Object.keys(contributions).sort(byMagnitude(contributions));
  for (let i = keep; i < ranked.length; i++) delete contributions[ranked[i]!];
}

/** The score's largest contributions at `at` (recency included), largest first. */
export function topContributions(score: ScoreState, at: number, top: number): Record<string, number> {
  const factor = decay(at - score.at, score.halfLife);
  const all: Record<string, number> = {};
  for (const name in score.contributions) all[name] = score.contributions[name]! * factor;
  if (score.recency !== undefined) all.recency = score.recency * factor;
  const result: Record<string, number> = {};
  for (const name of Object.keys(all).sort(byMagnitude(all)).slice(0, top)) result[name] = all[name]!;
  return result;
}

function byMagnitude(values: Record<string, number>): (a: string, b: string) => number {
  return (a, b) => Math.abs(values[b]!) - Math.abs(values[a]!) || (a < b ? -1 : a > b ? 1 : 0);
}
