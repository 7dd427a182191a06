import type { Touchpoint } from '../processors/model/touchpoint';
import { DAY, type HabitModel } from './model';
import { unionSlots, type Person, type Population } from './population';
import { consentReach, IdentityContext, localHour, Session, SessionBuilder } from './sessions';

/**
 * The touchpoints of a population over a period, in event-time order,
 * everybody interleaved. Each habit of each person is a Poisson process
 * (rate from the personas file times the person's own factor, shaped by
 * the habit's daily rhythm in the person's local time, optionally
 * declining); when it fires, the whole visit is built and its events are
 * emitted one by one as their time comes. One binary heap holds every
 * habit's next firing and every open visit, so taking a touchpoint costs
 * O(log(people x habits)) and a handful of small objects.
 */

export interface GeneratorOptions {
  /** Length of the simulated period. */
  days: number;
  /** Start of the period (ms since the epoch, UTC); the personas file's epoch when not given. */
  start?: number;
}

export interface GeneratorStats {
  /** Touchpoints of the population (behaviour). */
  touchpoints: number;
  /** Touchpoints injected from outside (outcomes from the responder). */
  injected: number;
  /** Visits built. */
  sessions: number;
}

const HABIT = 0;
const SESSION = 1;
const INJECTED = 2;
const CONSENT_START = 3;

class Entry {
  constructor(
    public time: number,
    public kind: number,
    public person: Person | null,
    public habit: HabitModel | null,
    public session: Session | null,
    public touchpoint: Touchpoint | null,
  ) {}
}

/** A binary min-heap on `time`. Same operations in the same order give the same order out: runs are reproducible. */
class EntryHeap {
  readonly items: Entry[] = [];

  get size(): number {
    return this.items.length;
  }

  push(entry: Entry): void {
    const items = this.items;
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.time <= entry.time) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  pop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.siftDownTop();
    }
  }

  /** Restores order after the top's time grew. */
  siftDownTop(): void {
    const items = this.items;
    const n = items.length;
    const entry = items[0]!;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && items[right]!.time < items[left]!.time ? right : left;
      if (items[child]!.time >= entry.time) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = entry;
  }
}

export class TouchpointGenerator implements Iterable<Touchpoint> {
  readonly start: number;
  readonly end: number;
  readonly stats: GeneratorStats = { touchpoints: 0, injected: 0, sessions: 0 };
  /** Event time of the latest touchpoint taken (the start before the first). */
  clock: number;
  private readonly heap = new EntryHeap();
  private readonly builder: SessionBuilder;
  private readonly epoch: number;

  constructor(
    readonly population: Population,
    options: GeneratorOptions,
  ) {
    if (population.claimed) throw new Error('this population was already used by a generator (people carry state): create a new one with the same seed');
    if (!(options.days > 0)) throw new RangeError(`days must be above 0 (got ${options.days})`);
    population.claimed = true;
    const model = population.model;
    this.epoch = model.epoch;
    this.start = options.start ?? model.epoch;
    this.end = this.start + Math.round(options.days * DAY);
    this.clock = this.start;
    this.builder = new SessionBuilder(model);
    for (const person of population.persons) {
      const habits = person.persona.habits;
      for (let h = 0; h < habits.length; h++) {
        const t = this.nextHabitTime(person, habits[h]!, this.start);
        if (t < this.end) this.heap.push(new Entry(t, HABIT, person, habits[h]!, null, null));
      }
      if (consentReach(person) !== 0) {
        const held = person.consent.email || person.consent.sms || person.consent.push;
        if (held) {
          const t = this.start + person.rng.int(model.consentInitialWithinMs);
          if (t < this.end) this.heap.push(new Entry(t, CONSENT_START, person, model.consentHabit, null, null));
        } else this.scheduleConsentChange(person, this.start);
      }
    }
  }

  /** The next touchpoint in event-time order, or undefined when the period (and everything injected) is done. */
  take(): Touchpoint | undefined {
    const heap = this.heap;
    while (heap.size > 0) {
      const top = heap.items[0]!;
      switch (top.kind) {
        case SESSION: {
          const session = top.session!;
          const i = session.next++;
          const touchpoint = session.events[i]!;
          if (touchpoint.occurredAt >= this.end) {
            heap.pop();
            continue;
          }
          if (session.next < session.events.length) {
            top.time = session.events[session.next]!.occurredAt;
            heap.siftDownTop();
          } else heap.pop();
          const context = session.contexts[i]!;
          if (!context.marked) markUsed(context);
          this.clock = touchpoint.occurredAt;
          this.stats.touchpoints++;
          return touchpoint;
        }
        case HABIT: {
          const person = top.person!;
          const habit = top.habit!;
          const at = top.time;
          const session = this.builder.build(person, habit, at);
          const next = this.nextHabitTime(person, habit, at);
          if (next < this.end) {
            top.time = next;
            heap.siftDownTop();
          } else heap.pop();
          if (session !== null) this.openSession(session);
          continue;
        }
        case CONSENT_START: {
          const person = top.person!;
          heap.pop();
          const session = this.builder.initialConsent(person, top.time);
          this.scheduleConsentChange(person, top.time);
          if (session !== null) this.openSession(session);
          continue;
        }
        default: {
          heap.pop();
          const touchpoint = top.touchpoint!;
          if (touchpoint.occurredAt > this.clock) this.clock = touchpoint.occurredAt;
          this.stats.injected++;
          return touchpoint;
        }
      }
    }
    return undefined;
  }

  /**
   * Adds touchpoints made outside (the outcome responder's) to the stream:
   * each comes out in event-time order among the population's, or next if
   * its time has already passed. They are emitted even after the period's
   * end.
   */
  inject(touchpoints: readonly Touchpoint[]): void {
    for (const t of touchpoints) this.heap.push(new Entry(t.occurredAt, INJECTED, null, null, null, t));
  }

  /** Share of the period generated so far, 0..1. */
  progress(): number {
    return Math.min(1, (this.clock - this.start) / (this.end - this.start));
  }

  /** Nothing is left: the period is over and every injected touchpoint was taken. */
  get done(): boolean {
    return this.heap.size === 0;
  }

  /** Touchpoints waiting (habits, open visits, injected): mostly for tests. */
  get pending(): number {
    return this.heap.size;
  }

  *[Symbol.iterator](): Iterator<Touchpoint> {
    for (let t = this.take(); t !== undefined; t = this.take()) yield t;
  }

  private openSession(session: Session): void {
    this.stats.sessions++;
    this.heap.push(new Entry(session.events[0]!.occurredAt, SESSION, null, null, session, null));
  }

  private scheduleConsentChange(person: Person, from: number): void {
    const habit = this.population.model.consentHabit;
    const t = this.nextHabitTime(person, habit, from);
    if (t < this.end) this.heap.push(new Entry(t, HABIT, person, habit, null, null));
  }

  /**
   * The habit's next visit after `from`: a Poisson process thinned by the
   * daily rhythm (accepted with the local hour's weight / the highest
   * weight) and the trend, with the candidate rate raised so the mean
   * monthly rate is the configured one.
   */
  private nextHabitTime(person: Person, habit: HabitModel, from: number): number {
    const rate = habit.kind === 'consent' ? this.consentRate(person) : person.rates[habit.index]!;
    if (!(rate > 0)) return Infinity;
    const rng = person.rng;
    const rhythm = habit.rhythm;
    const meanGap = rhythm.meanAccept / rate;
    const offset = person.zone.offsetMs;
    const trend = habit.trendPerMonth;
    let t = from;
    for (;;) {
      t += rng.exponential(meanGap);
      if (t >= this.end) return Infinity;
      let accept = rhythm.accept[localHour(t, offset)]!;
      if (trend !== 0) accept *= Math.max(0, 1 + (trend * (t - this.epoch)) / (30 * DAY));
      if (rng.next() < accept) return Math.floor(t);
    }
  }

  private consentRate(person: Person): number {
    let reach = consentReach(person);
    let channels = 0;
    for (; reach; reach &= reach - 1) channels++;
    return this.population.model.consentChangeRatePerMs * channels;
  }
}

/** The ground truth learns that these identifiers were shown, and linked when the event was a trusted authenticated one. */
function markUsed(context: IdentityContext): void {
  context.marked = true;
  const slots = context.slots;
  for (let i = 0; i < slots.length; i++) slots[i]!.used = true;
  if (context.link) for (let i = 1; i < slots.length; i++) unionSlots(slots[0]!, slots[i]!);
}

/** Every touchpoint of a fresh population over `days`, as an array (tests, small runs). */
export function generateTouchpoints(population: Population, days: number): Touchpoint[] {
  return [...new TouchpointGenerator(population, { days })];
}
