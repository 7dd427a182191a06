import type { EngagementState } from './state';

const byAt = <T extends { at: number }>(a: T, b: T) => a.at - b.at;

function unionBy<T>(a: T[], b: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of [...a, ...b]) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}

/**
 * Folds the loser's engagement state into the winner's. Sends, dismissals
 * and exposures: union (they happened to the same person). Cooldowns: the
 * latest firing. Holdout: the winner's assignment stands, so a person
 * never switches group; the loser's fills triggers the winner has none for.
 */
export function mergeEngagement(winner: EngagementState, loser: EngagementState): EngagementState {
  const lastFired = { ...loser.lastFired };
  for (const [id, at] of Object.entries(winner.lastFired)) lastFired[id] = Math.max(at, lastFired[id] ?? at);
  return {
    sent: unionBy(winner.sent, loser.sent, (s) => s.commandId).sort(byAt),
    dismissed: unionBy(winner.dismissed, loser.dismissed, (d) => `${d.at}|${d.triggerId}|${d.commandId}`).sort(byAt),
    lastFired,
    holdout: { ...loser.holdout, ...winner.holdout },
    pending: { ...loser.pending, ...winner.pending },
    exposures: unionBy(winner.exposures, loser.exposures, (e) => `${e.triggerId}|${e.at}|${e.commandId}`).sort(byAt),
  };
}
