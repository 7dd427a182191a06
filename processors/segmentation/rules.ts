import type { CounterEvent, ProfileState } from '../model/profile-state';
import type { EventFilter } from '../profile/event-filter';
import { consentGranted, consentKeys, isKnown, own } from '../profile/state';
import { valueAt } from '../scoring/state';

/**
 * Segment rules compiled at load time. A condition tree's leaves are
 * deduplicated across segments and measured once per evaluation into a
 * typed array; each segment's boolean logic over them is a few closures
 * (conditions.ts), so evaluating 30 segments costs one pass over the
 * distinct leaves and one small tree per segment, and allocates nothing
 * unless a membership changes.
 */
export interface SegmentRules {
  counters: CompiledCounter[];
  counterByName: ReadonlyMap<string, CompiledCounter>;
  segments: CompiledSegment[];
  /** Segment index by name. */
  segmentIndex: ReadonlyMap<string, number>;
  leaves: Leaf[];
  /** Sets decided[i] to 1 when segment i holds, given which leaves hold. */
  decide(held: Uint8Array, decided: Uint8Array): void;
  /** Bound on each counter's event list (oldest dropped first). */
  eventsPerCounter: number;
}

export interface CompiledCounter {
  name: string;
  match: EventFilter;
  /** Sums amount.minorUnits instead of counting. */
  sum: boolean;
  /** Default window of conditions on it, as written (e.g. 7d): part of their labels. */
  window: string;
  /** The longest window any rule reads it with: older events are pruned. */
  retention: number;
}

export interface CompiledSegment {
  name: string;
  index: number;
  /** Indices of the leaves under it: their values go into its membership records. */
  leaves: number[];
}

/** A measurable fact about a profile at an evaluation time, and a test on it. */
export interface Leaf {
  label: string;
  measure(ev: Measurement): number;
  test(value: number): boolean;
  /** The earliest time after `ev.at` at which the test could change with no new event; Infinity if never. */
  next(ev: Measurement, value: number): number;
}

const EMPTY: CounterEvent[] = [];

/** Every leaf of some conditions measured for one profile at one time; reused from record to record. */
export class Measurement {
  profile!: ProfileState;
  at = 0;
  readonly values: Float64Array;
  readonly held: Uint8Array;
  /** The last window read (see `window`). */
  events: CounterEvent[] = EMPTY;
  start = 0;
  end = 0;

  constructor(readonly leaves: readonly Leaf[]) {
    this.values = new Float64Array(leaves.length);
    this.held = new Uint8Array(leaves.length);
  }

  measure(profile: ProfileState, at: number): void {
    this.profile = profile;
    this.at = at;
    const leaves = this.leaves;
    for (let i = 0; i < leaves.length; i++) {
      const value = leaves[i]!.measure(this);
      this.values[i] = value;
      this.held[i] = leaves[i]!.test(value) ? 1 : 0;
    }
  }

  /** When the next evaluation is due if no event comes: a window slides past an event, a score decays past a threshold... */
  nextChange(): number {
    let next = Infinity;
    const leaves = this.leaves;
    for (let i = 0; i < leaves.length; i++) {
      const t = leaves[i]!.next(this, this.values[i]!);
      if (t < next) next = t;
    }
    return next;
  }

  /** Sets `events` and [`start`, `end`) to the counter's events inside (at - window, at]. */
  window(counter: string, window: number): void {
    const events = this.profile.counters[counter] ?? EMPTY;
    let end = events.length;
    while (end > 0 && events[end - 1]![0] > this.at) end--;
    let start = end;
    while (start > 0 && events[start - 1]![0] > this.at - window) start--;
    this.events = events;
    this.start = start;
    this.end = end;
  }
}

/** Every segment of the rules decided for one profile at one time. */
export class Evaluation extends Measurement {
  /** By segment index: 1 when the segment holds. */
  readonly decided: Uint8Array;

  constructor(readonly rules: SegmentRules) {
    super(rules.leaves);
    this.decided = new Uint8Array(rules.segments.length);
  }

  run(profile: ProfileState, at: number): void {
    this.measure(profile, at);
    this.rules.decide(this.held, this.decided);
  }

  holds(segment: CompiledSegment): boolean {
    return this.decided[segment.index] === 1;
  }

  /** The values that decided a segment, for its membership record. */
  valuesOf(segment: CompiledSegment): Record<string, number> {
    const values: Record<string, number> = {};
    for (const i of segment.leaves) values[this.leaves[i]!.label] = this.values[i]!;
    return values;
  }
}

/** atLeast / atMost include the bound; above / below do not. */
export interface Bounds {
  atLeast?: number;
  atMost?: number;
  above?: number;
  below?: number;
}

/** The test of a value against bounds, over numbers alone (a rule's bounds object has its own fields beside them). */
function withinBounds(bounds: Bounds): (value: number) => boolean {
  const atLeast = bounds.atLeast ?? -Infinity;
  const atMost = bounds.atMost ?? Infinity;
  const above = bounds.above ?? -Infinity;
  const below = bounds.below ?? Infinity;
  return (value) => value >= atLeast && value <= atMost && value > above && value < below;
}

/** A count's bounds as whole inclusive ones (a count above 2.5 is at least 3), which `next` counts events with. */
function countBounds(bounds: Bounds): { atLeast?: number; atMost?: number } {
  const lows = [bounds.atLeast === undefined ? undefined : Math.ceil(bounds.atLeast), bounds.above === undefined ? undefined : Math.floor(bounds.above) + 1];
  const highs = [bounds.atMost === undefined ? undefined : Math.floor(bounds.atMost), bounds.below === undefined ? undefined : Math.ceil(bounds.below) - 1];
  const low = lows.filter((b) => b !== undefined);
  const high = highs.filter((b) => b !== undefined);
  return { atLeast: low.length ? Math.max(...low) : undefined, atMost: high.length ? Math.min(...high) : undefined };
}

/**
 * A windowed count or sum. Counts only fall as time passes, so the next
 * change is exact: the moment enough of the oldest events have slid out to
 * cross a bound. A sum may move either way, so any slide is a candidate.
 */
export function counterLeaf(label: string, counter: string, sum: boolean, window: number, bounds: Bounds): Leaf {
  const counted = sum ? bounds : countBounds(bounds);
  // what `measure` saw, for `next` of the same evaluation
  let events: CounterEvent[] = EMPTY;
  let start = 0;
  let inWindow = 0;
  return {
    label,
    measure(ev) {
      ev.window(counter, window);
      events = ev.events;
      start = ev.start;
      inWindow = ev.end - ev.start;
      if (!sum) return inWindow;
      let total = 0;
      for (let i = ev.start; i < ev.end; i++) total += events[i]![1];
      return total;
    },
    test: withinBounds(counted),
    next(_ev, value) {
      if (sum) return inWindow > 0 ? events[start]![0] + window : Infinity;
      let next = Infinity;
      const { atLeast, atMost } = counted;
      // the k-th oldest event in the window leaves it at its time + window
      if (atLeast !== undefined && atLeast > 0 && value >= atLeast) next = events[start + value - atLeast]![0] + window;
      if (atMost !== undefined && atMost >= 0 && value > atMost) next = Math.min(next, events[start + value - atMost - 1]![0] + window);
      return next;
    },
  };
}

/** A score decays towards 0 as one exponential, so the time it crosses a bound is computed, not polled. */
export function scoreLeaf(label: string, score: string, bounds: Bounds): Leaf {
  return {
    label,
    measure(ev) {
      const state = ev.profile.scores[score];
      return state ? valueAt(state, ev.at) : 0;
    },
    test: withinBounds(bounds),
    next(ev, value) {
      const state = ev.profile.scores[score];
      if (!state) return Infinity;
      let next = Infinity;
      for (const bound of [bounds.atLeast, bounds.atMost, bounds.above, bounds.below]) next = Math.min(next, crossing(ev.at, value, bound, state.halfLife));
      return next;
    },
  };
}

function crossing(at: number, value: number, bound: number | undefined, halfLife: number): number {
  if (bound === undefined || bound === 0 || value === 0 || Math.sign(bound) !== Math.sign(value) || Math.abs(value) <= Math.abs(bound)) return Infinity;
  // one millisecond past the crossing, so rounding cannot leave the value on the bound
  return Math.max(Math.floor(at + halfLife * Math.log2(value / bound)) + 1, at + 1);
}

export function knownLeaf(want: boolean): Leaf {
  return { label: 'known', measure: (ev) => (isKnown(ev.profile) ? 1 : 0), test: (v) => v === (want ? 1 : 0), next: () => Infinity };
}

/** In a segment: for triggers' `who`, membership as the segmentation node decided it. */
export function segmentLeaf(segment: string): Leaf {
  return { label: `segment ${segment}`, measure: (ev) => (own(ev.profile.segments, segment) ? 1 : 0), test: (v) => v === 1, next: () => Infinity };
}

/** Touched the channel ever, or within a time: then it stops holding a fixed time after the last touch. */
export function channelLeaf(label: string, channel: string, window: number | undefined): Leaf {
  return {
    label,
    measure(ev) {
      const state = own(ev.profile.channels, channel);
      if (!state) return 0;
      return window === undefined || state.lastAt > ev.at - window ? 1 : 0;
    },
    test: (v) => v === 1,
    next(ev, value) {
      return window !== undefined && value === 1 ? ev.profile.channels[channel]!.lastAt + window : Infinity;
    },
  };
}

/** Measures how long ago the person was last seen (ms); holds while that is under `window`. */
export function lastSeenLeaf(label: string, window: number): Leaf {
  return {
    label,
    measure: (ev) => ev.at - ev.profile.lastSeen,
    test: (ago) => ago < window,
    next: (ev, ago) => (ago < window ? ev.profile.lastSeen + window : Infinity),
  };
}

export function consentLeaf(label: string, channel: string, purpose: string): Leaf {
  const keys = consentKeys(channel, purpose);
  return { label, measure: (ev) => (consentGranted(ev.profile.consent, keys) ? 1 : 0), test: (v) => v === 1, next: () => Infinity };
}

/** A trait that is known, or has one of the given values. */
export function traitLeaf(label: string, trait: string, values: string[] | undefined): Leaf {
  const accepted = values ? new Set(values) : undefined;
  return {
    label,
    measure(ev) {
      const value = own(ev.profile.traits, trait)?.value;
      return value !== undefined && (!accepted || accepted.has(value)) ? 1 : 0;
    },
    test: (v) => v === 1,
    next: () => Infinity,
  };
}
