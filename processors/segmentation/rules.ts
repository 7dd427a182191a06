import type { CounterEvent, ProfileState } from '../model/profile-state';
import type { EventFilter } from '../profile/event-filter';
import { consentGranted, consentKeys, isKnown, own } from '../profile/state';
import { valueAt } from '../scoring/state';

/**
 * Segment rules compiled at load time. A condition tree's leaves are
 * deduplicated across segments and measured once per evaluation into a
 * typed array; every segment's boolean logic over them is one generated
 * function, so evaluating 30 segments costs one pass over the distinct
 * leaves and one call, and allocates nothing unless a membership changes.
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
  measure(ev: Evaluation): number;
  test(value: number): boolean;
  /** The earliest time after `ev.at` at which the test could change with no new event; Infinity if never. */
  next(ev: Evaluation, value: number): number;
}

const EMPTY: CounterEvent[] = [];

/** One evaluation of every leaf of the rules for one profile at one time; reused from record to record. */
export class Evaluation {
  profile!: ProfileState;
  at = 0;
  readonly values: Float64Array;
  readonly held: Uint8Array;
  /** By segment index: 1 when the segment holds. */
  readonly decided: Uint8Array;
  /** The last window read (see `window`). */
  events: CounterEvent[] = EMPTY;
  start = 0;
  end = 0;

  constructor(readonly rules: SegmentRules) {
    this.values = new Float64Array(rules.leaves.length);
    this.held = new Uint8Array(rules.leaves.length);
    this.decided = new Uint8Array(rules.segments.length);
  }

  run(profile: ProfileState, at: number): void {
    this.profile = profile;
    this.at = at;
    const leaves = this.rules.leaves;
    for (let i = 0; i < leaves.length; i++) {
      const value = leaves[i]!.measure(this);
      this.values[i] = value;
      this.held[i] = leaves[i]!.test(value) ? 1 : 0;
    }
    this.rules.decide(this.held, this.decided);
  }

  holds(segment: CompiledSegment): boolean {
    return this.decided[segment.index] === 1;
  }

  /** When the next evaluation is due if no event comes: a window slides past an event, a score decays past a threshold... */
  nextChange(): number {
    let next = Infinity;
    const leaves = this.rules.leaves;
    for (let i = 0; i < leaves.length; i++) {
      const t = leaves[i]!.next(this, this.values[i]!);
      if (t < next) next = t;
    }
    return next;
  }

  /** The values that decided a segment, for its membership record. */
  valuesOf(segment: CompiledSegment): Record<string, number> {
    const values: Record<string, number> = {};
    for (const i of segment.leaves) values[this.rules.leaves[i]!.label] = this.values[i]!;
    return values;
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

interface Bounds {
  atLeast?: number;
  atMost?: number;
}

function within(bounds: Bounds, value: number): boolean {
  return (bounds.atLeast === undefined || value >= bounds.atLeast) && (bounds.atMost === undefined || value <= bounds.atMost);
}

/**
 * A windowed count or sum. Counts only fall as time passes, so the next
 * change is exact: the moment enough of the oldest events have slid out to
 * cross a bound. A sum may move either way, so any slide is a candidate.
 */
export function counterLeaf(label: string, counter: string, sum: boolean, window: number, bounds: Bounds): Leaf {
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
    test: (value) => within(bounds, value),
    next(_ev, value) {
      if (sum) return inWindow > 0 ? events[start]![0] + window : Infinity;
      let next = Infinity;
      // the k-th oldest event in the window leaves it at its time + window
      if (bounds.atLeast !== undefined && bounds.atLeast > 0 && value >= bounds.atLeast) next = events[start + value - bounds.atLeast]![0] + window;
      if (bounds.atMost !== undefined && value > bounds.atMost) next = Math.min(next, events[start + value - bounds.atMost - 1]![0] + window);
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
    test: (value) => within(bounds, value),
    next(ev, value) {
      const state = ev.profile.scores[score];
      if (!state) return Infinity;
      return Math.min(crossing(ev.at, value, bounds.atLeast, state.halfLife), crossing(ev.at, value, bounds.atMost, state.halfLife));
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
