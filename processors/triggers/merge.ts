import type { SplitSide } from '../profile/provenance';
import { commandId } from './eligibility';
import {
  engagementFromStored,
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

  const patterns: Record<string, PatternState> = {};
  for (const [id, theirs] of Object.entries(loser.patterns)) patterns[id] = copyPattern(theirs);
  for (const [id, mine] of Object.entries(winner.patterns)) {
    const theirs = patterns[id];
    patterns[id] = theirs === undefined || theirs.kind !== mine.kind ? copyPattern(mine) : mergePattern(mine, theirs);
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

/**
 * One side's progress for the merged state: the triggers node changes the
 * merged profile's progress in place, and neither input may change (the
 * winner is the committed store value, the loser goes downstream with the
 * merge).
 */
function copyPattern(p: PatternState): PatternState {
  return p.kind === 'sequence' ? { kind: 'sequence', events: [...p.events] } : { kind: 'absence', starts: [...p.starts], cancels: [...p.cancels] };
}

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

/**
 * One side's engagement after a merge is undone: from the merged state,
 * what was its own at the merge (in its base), and what its own touchpoints
 * caused since: a command, hold-out or exposure whose id is the one a
 * firing caused by one of the restored side's touchpoints gets
 * (eligibility.ts `commandId`, of the trigger, the merged profile and the
 * cause event) is the restored side's, any other the survivor's; a pending
 * firing goes by its cause event. Dismissals go with the command they
 * dismissed; cooldowns are taken again from what each side kept; a holdout
 * assignment stays with the side it was first made for, and one made since
 * the merge goes to the side exposed under it; pattern progress keeps the
 * events of the side's own.
 */
export function splitEngagement(side: SplitSide): EngagementState {
  const merged = engagementFromStored(side.merged.engagement);
  const base = engagementFromStored(side.base.engagement);
  const other = engagementFromStored(side.otherBase.engagement);
  const isRestored = side.role === 'restored';
  const triggers = new Set([...merged.sent, ...merged.heldOut, ...merged.exposures].map((x) => x.triggerId));
  const restoredIds = new Set<string>();
  for (const triggerId of triggers) for (const eventId of side.restoredEventIds) restoredIds.add(commandId(triggerId, side.merged.id, eventId));
  const restoredEvents = new Set(side.restoredEventIds);
  const byId = (id: string) => restoredIds.has(id) === isRestored;
  /** What of the merged list is this side's: its own at the merge, or since the merge and `mineSince`. */
  const own = <T>(list: readonly T[], baseList: readonly T[], otherList: readonly T[], key: (item: T) => string, mineSince: (item: T) => boolean): T[] => {
    const inBase = new Set(baseList.map(key));
    const inOther = new Set(otherList.map(key));
    return list.filter((item) => inBase.has(key(item)) || (!inOther.has(key(item)) && mineSince(item)));
  };

  const sent = own(merged.sent, base.sent, other.sent, (s) => s.commandId, (s) => byId(s.commandId));
  const heldOut = own(merged.heldOut, base.heldOut, other.heldOut, (h) => h.decisionId, (h) => byId(h.decisionId));
  const exposures = own(merged.exposures, base.exposures, other.exposures, exposureKey, (x) => byId(x.commandId));
  const pending = own(merged.pending, base.pending, other.pending, pendingKey, (p) => restoredEvents.has(p.causeEventId) === isRestored);
  const sentIds = new Set(sent.map((s) => s.commandId));
  const dismissalKey = (d: EngagementState['dismissed'][number]) => `${d.at}|${d.triggerId}|${d.commandId}`;
  // a dismissal goes with the command it dismissed; one that names none stays with the survivor
  const dismissed = own(merged.dismissed, base.dismissed, other.dismissed, dismissalKey, (d) => (d.commandId !== null ? sentIds.has(d.commandId) : !isRestored));

  const lastFired: Record<string, number> = { ...base.lastFired };
  for (const x of exposures) lastFired[x.triggerId] = Math.max(x.at, lastFired[x.triggerId] ?? x.at);
  const holdout = { ...base.holdout };
  for (const x of exposures) if (holdout[x.triggerId] === undefined && merged.holdout[x.triggerId] !== undefined) holdout[x.triggerId] = merged.holdout[x.triggerId]!;

  const ownEvents = new Set(side.events.map((t) => t.eventId));
  const ownTimes = new Set(side.events.map((t) => t.occurredAt));
  const patterns: Record<string, PatternState> = {};
  for (const [id, progress] of Object.entries(merged.patterns)) {
    const before = base.patterns[id];
    const kept = splitPattern(progress, before?.kind === progress.kind ? before : undefined, ownEvents, ownTimes);
    if (kept !== undefined) patterns[id] = kept;
  }
  return { sent, heldOut, dismissed, lastFired, holdout, patterns, pending, exposures };
}

function splitPattern(progress: PatternState, base: PatternState | undefined, ownEvents: ReadonlySet<string>, ownTimes: ReadonlySet<number>): PatternState | undefined {
  if (progress.kind === 'sequence') {
    const before = new Set((base as SequenceProgress | undefined)?.events.map((e) => e[1]));
    const events = progress.events.filter((e) => before.has(e[1]) || ownEvents.has(e[1]));
    return events.length > 0 ? { kind: 'sequence', events } : undefined;
  }
  const baseAbsence = base as AbsenceProgress | undefined;
  const before = new Set(baseAbsence?.starts.map((s) => s[1]));
  const cancelledBefore = new Set(baseAbsence?.cancels);
  const starts = progress.starts.filter((s) => before.has(s[1]) || ownEvents.has(s[1]));
  const cancels = progress.cancels.filter((c) => cancelledBefore.has(c) || ownTimes.has(c));
  return starts.length > 0 || cancels.length > 0 ? { kind: 'absence', starts, cancels } : undefined;
}
