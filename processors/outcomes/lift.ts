import type { HoldoutGroup } from '../triggers/state';

/**
 * Running counts of one trigger against its holdout group, per person: a
 * person counts once, at their first exposure to the trigger.
 */
export interface LiftCounts {
  /** People whose first exposure was a command sent. */
  treated: number;
  /** Of those, how many converted inside the attribution window of that first exposure. */
  treatedConverted: number;
  /** People whose first exposure was a hold-out: held out at the moment they would have been engaged. */
  control: number;
  controlConverted: number;
}

/**
 * A person's later exposures to the same trigger, counted apart: how often
 * a person is exposed again depends on what the first exposure did to them
 * (a treated person who dismissed is cooled down), so repeats are an outcome
 * of the treatment, not a fresh draw of either group.
 */
export interface RepeatCounts {
  repeatTreated: number;
  repeatTreatedConverted: number;
  repeatControl: number;
  repeatControlConverted: number;
}

export interface LiftTally extends LiftCounts, RepeatCounts {}

export const TALLY_FIELDS = [
  'treated',
  'treatedConverted',
  'control',
  'controlConverted',
  'repeatTreated',
  'repeatTreatedConverted',
  'repeatControl',
  'repeatControlConverted',
] as const satisfies readonly (keyof LiftTally)[];

export function emptyTally(): LiftTally {
  return { treated: 0, treatedConverted: 0, control: 0, controlConverted: 0, repeatTreated: 0, repeatTreatedConverted: 0, repeatControl: 0, repeatControlConverted: 0 };
}

/** The tally fields of a record that has them (and more). */
export function tallyOf(source: LiftTally): LiftTally {
  const tally = emptyTally();
  for (const field of TALLY_FIELDS) tally[field] = source[field];
  return tally;
}

const TALLY_FIELD: Record<HoldoutGroup, Record<'first' | 'repeat', Record<'exposed' | 'converted', keyof LiftTally>>> = {
  treatment: { first: { exposed: 'treated', converted: 'treatedConverted' }, repeat: { exposed: 'repeatTreated', converted: 'repeatTreatedConverted' } },
  control: { first: { exposed: 'control', converted: 'controlConverted' }, repeat: { exposed: 'repeatControl', converted: 'repeatControlConverted' } },
};

/** The count an exposure, or its conversion, adds one to. */
export function tallyField(group: HoldoutGroup, repeat: boolean, event: 'exposed' | 'converted'): keyof LiftTally {
  return TALLY_FIELD[group][repeat ? 'repeat' : 'first'][event];
}

/** schemas/TriggerLift.avsc: what goes to engagement.lift, key trigger id. */
export interface TriggerLift extends LiftTally {
  triggerId: string;
  /** The task partition that measured it; sum over partitions for the total (see `combineLift`). */
  partition: number;
  asOf: number;
}

export interface LiftEstimate {
  /** treatedConverted / treated; null without treated exposures. */
  treatedRate: number | null;
  controlRate: number | null;
  /** Absolute lift: treatedRate - controlRate; null when either rate is. */
  lift: number | null;
  /** lift / controlRate; null when the control rate is 0 or unknown. */
  relativeLift: number | null;
  /** 95% interval of the absolute lift (Newcombe's hybrid score interval); null when either rate is. */
  ci95: [number, number] | null;
  /** Each group has at least MIN_EXPOSURES_PER_GROUP exposures; below that the interval is shown, not acted on. */
  enoughData: boolean;
  /** Enough data, and the interval excludes 0. */
  significant: boolean;
}

/** Two-sided 95% quantile of the standard normal. */
export const Z95 = 1.959963984540054;

/**
 * Fewer exposures than this in either group is "not enough data": the
 * interval is honest but too wide to act on, and a rule's lift must not be
 * called significant on a handful of held-out people.
 */
export const MIN_EXPOSURES_PER_GROUP = 30;

/**
 * Conversion rates, absolute lift and its 95% interval. The interval is
 * Newcombe's hybrid score interval (1998, method 10): a Wilson score
 * interval for each rate, combined as
 *   [d - sqrt((p1 - l1)^2 + (u2 - p2)^2), d + sqrt((u1 - p1)^2 + (p2 - l2)^2)].
 * It keeps close to its nominal 95 % where Wald's (p ± z·se) does not: with
 * a small holdout group or rates near 0 or 1 (48 treated against 4 held
 * out, Wald's covers the true lift about 40 % of the time), and it needs no
 * special case when a group never or always converted. With no exposures
 * in a group there is no rate and no lift (nulls).
 */
export function liftEstimate(counts: LiftCounts): LiftEstimate {
  const { treated: n1, treatedConverted: x1, control: n2, controlConverted: x2 } = counts;
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`lift count ${name} must be a whole number >= 0 (got ${value})`);
  }
  if (x1 > n1 || x2 > n2) throw new RangeError(`more conversions than exposures (treated ${x1}/${n1}, control ${x2}/${n2})`);
  const treatedRate = n1 > 0 ? x1 / n1 : null;
  const controlRate = n2 > 0 ? x2 / n2 : null;
  const enoughData = n1 >= MIN_EXPOSURES_PER_GROUP && n2 >= MIN_EXPOSURES_PER_GROUP;
  if (treatedRate === null || controlRate === null) {
    return { treatedRate, controlRate, lift: null, relativeLift: null, ci95: null, enoughData, significant: false };
  }
  const lift = treatedRate - controlRate;
  const relativeLift = controlRate > 0 ? lift / controlRate : null;
  const ci95 = newcombeInterval(x1, n1, x2, n2);
  return { treatedRate, controlRate, lift, relativeLift, ci95, enoughData, significant: enoughData && (ci95[0] > 0 || ci95[1] < 0) };
}

/** Newcombe's hybrid score interval for p1 - p2 (both groups non-empty). */
export function newcombeInterval(x1: number, n1: number, x2: number, n2: number, z = Z95): [number, number] {
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const [l1, u1] = wilsonInterval(x1, n1, z);
  const [l2, u2] = wilsonInterval(x2, n2, z);
  const d = p1 - p2;
  return [Math.max(-1, d - Math.hypot(p1 - l1, u2 - p2)), Math.min(1, d + Math.hypot(u1 - p1, p2 - l2))];
}

/** Wilson's score interval for a proportion x / n (n > 0). */
export function wilsonInterval(x: number, n: number, z = Z95): [number, number] {
  const z2 = z * z;
  const centre = (x + z2 / 2) / (n + z2);
  const half = (z / (n + z2)) * Math.sqrt((x * (n - x)) / n + z2 / 4);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
