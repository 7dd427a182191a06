import { OUTCOME_EVENTS, type Touchpoint } from '../model/touchpoint';
import type { TriggerRules } from '../triggers/config';
import { parseDuration } from '../../config/duration';
import { keepNewest, LIMITS, type CommandStatus, type EngagementState, type Exposure } from '../triggers/state';
import type { OutcomesConfig } from './config';

export const CONVERTED = 'converted';
export const DISMISSED = 'dismissed';

/** Outcome statuses from least to most advanced: a command's status only moves forward. */
const STATUS_RANK: Record<CommandStatus, number> = { sent: 0, delivered: 1, shown: 2, dismissed: 3, clicked: 4, converted: 5 };

const OUTCOMES: ReadonlySet<string> = new Set(OUTCOME_EVENTS);

/** Which events convert for which trigger, and for how long after an exposure. */
export class AttributionRules {
  private readonly windows = new Map<string, number>();
  private readonly events = new Map<string, ReadonlySet<string>>();
  private readonly defaultEvents: ReadonlySet<string>;
  readonly defaultWindow: number;
  /** The longest window: exposures older than this can be forgotten. */
  readonly longestWindow: number;
  /** Every event type the outcomes node must look at; the rest are skipped after one set lookup. */
  readonly interesting: ReadonlySet<string>;

  constructor(config: OutcomesConfig, rules: TriggerRules) {
    this.defaultWindow = parseDuration(config.attributionWindow);
    this.defaultEvents = new Set([CONVERTED, ...config.conversionEvents]);
    const interesting = new Set<string>([...OUTCOME_EVENTS, ...this.defaultEvents]);
    let longest = this.defaultWindow;
    for (const t of rules.triggers) {
      if (t.measure?.attributionWindow) {
        const w = parseDuration(t.measure.attributionWindow);
        this.windows.set(t.id, w);
        longest = Math.max(longest, w);
      }
      if (t.measure?.conversionEvents) {
        const events = new Set([CONVERTED, ...t.measure.conversionEvents]);
        this.events.set(t.id, events);
        for (const e of events) interesting.add(e);
      }
    }
    this.longestWindow = longest;
    this.interesting = interesting;
  }

  windowFor(triggerId: string): number {
    return this.windows.get(triggerId) ?? this.defaultWindow;
  }

  converts(triggerId: string, eventType: string): boolean {
    return (this.events.get(triggerId) ?? this.defaultEvents).has(eventType);
  }

  isConversion(eventType: string): boolean {
    if (this.defaultEvents.has(eventType)) return true;
    for (const events of this.events.values()) if (events.has(eventType)) return true;
    return false;
  }
}

/**
 * A channel's report on a command (delivered, shown, clicked, converted,
 * dismissed with outcome.commandId): moves the sent command's status
 * forward and records a dismissal for fatigue (once per command). Returns
 * the trigger of a new dismissal, if any.
 */
export function recordOutcome(e: EngagementState, touchpoint: Touchpoint): { dismissedTrigger: string | undefined; known: boolean } {
  const commandId = touchpoint.outcome?.commandId ?? null;
  if (!OUTCOMES.has(touchpoint.eventType) || commandId === null) return { dismissedTrigger: undefined, known: false };
  const status = touchpoint.eventType as CommandStatus;
  const sent = e.sent.find((s) => s.commandId === commandId);
  if (sent !== undefined && STATUS_RANK[status] > STATUS_RANK[sent.status]) sent.status = status;
  if (status !== DISMISSED) return { dismissedTrigger: undefined, known: sent !== undefined };
  const triggerId = sent?.triggerId ?? touchpoint.outcome?.triggerId ?? null;
  if (triggerId === null || e.dismissed.some((d) => d.commandId === commandId)) return { dismissedTrigger: undefined, known: sent !== undefined };
  e.dismissed.push({ at: touchpoint.occurredAt, triggerId, commandId });
  e.dismissed.sort((a, b) => a.at - b.at);
  e.dismissed = keepNewest(e.dismissed, LIMITS.dismissed);
  return { dismissedTrigger: triggerId, known: sent !== undefined };
}

/**
 * Attributes a conversion at event time `at` to exposures and returns the
 * ones it converted (each exposure converts at most once):
 *
 * - with outcome.commandId: the exposure of that command, if the
 *   conversion is inside its trigger's attribution window;
 * - without: for every trigger whose conversion events include this one
 *   (only the trigger named by outcome.triggerId, if one is), the person's
 *   latest exposure to it at or before `at`, and their first exposure to it
 *   if still kept — each if the conversion is inside its window and it has
 *   not converted yet. Treatment (to the command) or control (to the
 *   hold-out) alike, so both groups are measured the same way.
 *
 * Only the latest exposure among repeats: an event in the window of an
 * exposure that already converted (a second purchase) converts nothing.
 * Falling back to an older unconverted exposure would let one person's
 * repeated purchases convert every exposure still in its window. The first
 * exposure is the exception: it stands for the person in the lift counts,
 * so it sees every conversion in its window, even after a repeat exposure.
 */
export function attributeConversion(e: EngagementState, touchpoint: Touchpoint, at: number, rules: AttributionRules): Exposure[] {
  const inWindow = (x: Exposure): boolean => !x.converted && x.at <= at && at <= x.at + rules.windowFor(x.triggerId);
  const commandId = touchpoint.outcome?.commandId ?? null;
  const candidates = commandId !== null ? [e.exposures.find((x) => x.commandId === commandId)] : candidateExposures(e, touchpoint, at, rules);
  const converted: Exposure[] = [];
  for (const x of candidates) {
    if (x === undefined || !inWindow(x)) continue;
    x.converted = true;
    converted.push(x);
  }
  return converted;
}

/** Per trigger the conversion counts for, the person's first exposure and latest exposure at or before `at`. */
function candidateExposures(e: EngagementState, touchpoint: Touchpoint, at: number, rules: AttributionRules): Exposure[] {
  const named = touchpoint.outcome?.triggerId ?? null;
  const first = new Map<string, Exposure>();
  const latest = new Map<string, Exposure>();
  // oldest first: the last one kept per trigger is the latest
  for (const x of e.exposures) {
    if (x.at > at || (named !== null && x.triggerId !== named) || !rules.converts(x.triggerId, touchpoint.eventType)) continue;
    if (x.repeat !== true && !first.has(x.triggerId)) first.set(x.triggerId, x);
    latest.set(x.triggerId, x);
  }
  return [...new Set([...first.values(), ...latest.values()])];
}

/** Forgets exposures whose attribution window has passed. */
export function pruneExposures(e: EngagementState, now: number, rules: AttributionRules): void {
  if (e.exposures.length === 0 || e.exposures[0]!.at >= now - rules.longestWindow) return;
  e.exposures = e.exposures.filter((x) => x.at + rules.windowFor(x.triggerId) >= now);
}
