import {
  keepNewest,
  LIMITS,
  type AbsenceProgress,
  type EngagementState,
  type Exposure,
  type PatternState,
  type PendingFiring,
  type SequenceProgress,
} from './state';

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function unionBy<T>(a: readonly T[], b: readonly T[], key: (item: T) => string, combine?: (kept: T, other: T) => T): T[] {
  const seen = new Map<string, T>();
  for (const item of a) seen.set(key(item), item);
  for (const item of b) {
    const k = key(item);
    const kept = seen.get(k);
    if (kept === undefined) seen.set(k, item);
    else if (combine) seen.set(k, combine(kept, item));
  }
  return [...seen.values()];
}

/**
 * Folds the loser's engagement state into the winner's (both profiles are
 * the same person). The rules, field by field:
 *
 * - sent, heldOut, dismissed: union (they happened to the person), oldest
 *   first, bounded.
 * - lastFired: the later time per trigger (cooldowns keep running).
 * - holdout: **the winner's assignment stands**; the loser's fills only the
 *   triggers the winner has none for. A person never switches group for a
 *   trigger the winner was already measured on, and a control member who
 *   merges into a profile with no assignment stays control.
 * - patterns: sequence events and absence openings/cancels are unioned by
 *   event id / time, so a sequence half-seen on each profile can complete.
 * - pending: union by (trigger, cause event); each keeps its window end.
 * - exposures: union by (trigger, command id); converted if either says so.
 *
 * Pure: returns a new state; neither input is changed.
 */
export function mergeEngagement(winner: EngagementState, loser: EngagementState): EngagementState {
  const lastFired = { ...loser.lastFired };
  for (const [id, at] of Object.entries(winner.lastFired)) lastFired[id] = Math.max(at, lastFired[id] ?? at);

  const patterns: Record<string, PatternState> = { ...loser.patterns };
  for (const [id, mine] of Object.entries(winner.patterns)) {
    const theirs = patterns[id];
    patterns[id] = theirs === undefined || theirs.kind !== mine.kind ? mine : mergePattern(mine, theirs);
  }

  return {
    sent: timelineUnion(winner.sent, loser.sent, (s) => s.commandId, LIMITS.sent),
    heldOut: timelineUnion(winner.heldOut, loser.heldOut, (h) => h.decisionId, LIMITS.heldOut),
    dismissed: keepNewest(
      unionBy(winner.dismissed, loser.dismissed, (d) => `${d.at}|${d.triggerId}|${d.commandId}`).sort(
        (a, b) => a.at - b.at || cmp(a.triggerId, b.triggerId) || cmp(a.commandId ?? '', b.commandId ?? ''),
      ),
      LIMITS.dismissed,
    ),
    lastFired,
    holdout: { ...loser.holdout, ...winner.holdout },
    patterns,
    pending: keepNewest(
      unionBy(winner.pending, loser.pending, pendingKey).sort(
        (a, b) => a.decideAt - b.decideAt || a.firedAt - b.firedAt || cmp(pendingKey(a), pendingKey(b)),
      ),
      LIMITS.pending,
    ),
    exposures: keepNewest(
      unionBy(winner.exposures, loser.exposures, exposureKey, (kept, other) =>
        other.converted && !kept.converted ? { ...kept, converted: true } : kept,
      ).sort((a, b) => a.at - b.at || cmp(exposureKey(a), exposureKey(b))),
      LIMITS.exposures,
    ),
  };
}

/** Union by id, oldest first (ties by id), bounded to the newest `limit`. */
function timelineUnion<T extends { at: number }>(a: readonly T[], b: readonly T[], id: (item: T) => string, limit: number): T[] {
  return keepNewest(
    unionBy(a, b, id).sort((x, y) => x.at - y.at || cmp(id(x), id(y))),
    limit,
  );
}

const pendingKey = (p: PendingFiring): string => `${p.triggerId}|${p.causeEventId}`;
const exposureKey = (e: Exposure): string => `${e.triggerId}|${e.commandId}`;

function mergePattern(a: PatternState, b: PatternState): PatternState {
  if (a.kind === 'sequence') {
    const other = b as SequenceProgress;
    const events = unionBy(a.events, other.events, (e) => e[1]).sort((x, y) => x[0] - y[0] || cmp(x[1], y[1]));
    return { kind: 'sequence', events: keepNewest(events, LIMITS.patternEvents) };
  }
  const other = b as AbsenceProgress;
  const starts = unionBy(a.starts, other.starts, (s) => s[1]).sort((x, y) => x[0] - y[0] || cmp(x[1], y[1]));
  const cancels = [...new Set([...a.cancels, ...other.cancels])].sort((x, y) => x - y);
  return { kind: 'absence', starts: keepNewest(starts, LIMITS.absenceStarts), cancels: keepNewest(cancels, LIMITS.absenceCancels) };
}
