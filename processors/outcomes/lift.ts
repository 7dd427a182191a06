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
  /**
   * 95% confidence sequence of the absolute lift (`alwaysValidInterval`): valid however often it is
   * looked at, so a live dashboard may stop the first time it excludes 0; null when either rate is.
   */
  ci95AlwaysValid: [number, number] | null;
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

/** Each group has at least MIN_EXPOSURES_PER_GROUP people: cheap, for the hot path (arbitration) that needs no interval. */
export function hasEnoughData(counts: LiftCounts): boolean {
  return counts.treated >= MIN_EXPOSURES_PER_GROUP && counts.control >= MIN_EXPOSURES_PER_GROUP;
}

/**
 * Conversion rates, absolute lift and its 95% interval. The interval is
 * Newcombe's hybrid score interval (1998, method 10): a Wilson score
 * interval for each rate, combined as
 *   [d - sqrt((p1 - l1)^2 + (u2 - p2)^2), d + sqrt((u1 - p1)^2 + (p2 - l2)^2)].
 * It keeps close to its nominal 95 % where Wald's (p ± z·se) does not: with
 * a small holdout group or rates near 0 or 1 (48 treated against 4 held
 * out at 30 % and 20 %, Wald's covers the true lift about 61 % of the time:
 * exact coverage in the unit test), and it needs no
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
  const enoughData = hasEnoughData(counts);
  if (treatedRate === null || controlRate === null) {
    return { treatedRate, controlRate, lift: null, relativeLift: null, ci95: null, ci95AlwaysValid: null, enoughData, significant: false };
  }
  const lift = treatedRate - controlRate;
  const relativeLift = controlRate > 0 ? lift / controlRate : null;
  const ci95 = newcombeInterval(x1, n1, x2, n2);
  const ci95AlwaysValid = alwaysValidInterval(x1, n1, x2, n2);
  return { treatedRate, controlRate, lift, relativeLift, ci95, ci95AlwaysValid, enoughData, significant: enoughData && (ci95[0] > 0 || ci95[1] < 0) };
}

/** Newcombe's hybrid score interval for p1 - p2 (both groups non-empty). */
export function newcombeInterval(x1: number, n1: number, x2: number, n2: number, z = Z95): [number, number] {
  return squareAndAdd(x1, n1, x2, n2, (x, n) => wilsonInterval(x, n, z));
}

/**
 * Newcombe's combination of an interval per rate into one for p1 - p2: each
 * side of the difference is as far from it as the two rates' distances to
 * their own bounds on that side, added in squares.
 */
function squareAndAdd(x1: number, n1: number, x2: number, n2: number, rateInterval: (x: number, n: number) => [number, number]): [number, number] {
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const [l1, u1] = rateInterval(x1, n1);
  const [l2, u2] = rateInterval(x2, n2);
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

/**
 * The standard deviation of the normal mixture of `alwaysValidInterval`
 * over a group's conversion rate. The boundary is narrowest, relative to a
 * fixed-sample one, where a rate's standard error is about this / 2.9 (its
 * variance tau^2 / 8.2): 0.02 puts that at 0.7 points, the standard error of
 * each group when the lift is known to ±2 points, the planner's default.
 */
export const DEFAULT_MIXING_SD = 0.02;

export interface AlwaysValidOptions {
  /** 1 - coverage, over the whole sequence of looks (default 0.05). */
  alpha?: number;
  /** Standard deviation of the mixing distribution (default DEFAULT_MIXING_SD). */
  mixingSd?: number;
}

/**
 * A confidence sequence for p1 - p2: with probability about 1 - alpha it
 * covers the true lift at every count at once, so it may be recomputed after
 * every exposure and acted on the first time it excludes 0. Newcombe's
 * interval looked at that often leaves out the truth far more often than
 * alpha (test/unit/outcomes/outcomes.test.ts, "peeking").
 *
 * Each rate gets the two-sided normal-mixture boundary of Howard, Ramdas,
 * McAuliffe and Sekhon ("Time-uniform, nonparametric, nonasymptotic
 * confidence sequences", Annals of Statistics 49(2), 2021), which is the
 * mixture SPRT of Johari, Koomen, Pekelis and Walsh ("Always valid
 * inference", Operations Research 70(3), 2022): for a mean of variance V
 * and a N(0, tau^2) mixture, the likelihood ratio against p stays below
 * 1/alpha (Ville's inequality) exactly on
 *   |x/n - p| <= b(V) = sqrt(V (1 + V/tau^2) (ln(1 + tau^2/V) + 2 ln(1/alpha))),  V = p(1 - p)/n.
 * Chosen for its closed form and one tuning constant. As Wilson's interval
 * does for a fixed sample, V is taken at the p being tested, not at the
 * observed rate: with the observed rate, a small holdout group that happens
 * to convert rarely gets a small variance just when its rate is most
 * underestimated, and the sequence misses the truth several times alpha.
 * The two rates' intervals are combined as Newcombe combines Wilson's.
 */
export function alwaysValidInterval(x1: number, n1: number, x2: number, n2: number, options: AlwaysValidOptions = {}): [number, number] {
  return squareAndAdd(x1, n1, x2, n2, (x, n) => alwaysValidRateInterval(x, n, options));
}

/** The rates p in [0, 1] whose boundary b(p(1 - p)/n) reaches the observed rate x / n (n > 0). */
export function alwaysValidRateInterval(x: number, n: number, options: AlwaysValidOptions = {}): [number, number] {
  const observed = x / n;
  const b = normalMixtureBoundary(options);
  const excess = (p: number) => Math.abs(observed - p) - b((p * (1 - p)) / n);
  return [edge(observed, 0, excess), edge(observed, 1, excess)];
}

/**
 * The root of `excess` between an accepted `inside` (excess <= 0) and
 * `limit`, or `limit` when it is accepted too. False position with the
 * Illinois step: a bracket that always holds the root, like bisection, in
 * about ten evaluations instead of forty, which a peeking simulation
 * (hundreds of thousands of intervals) needs.
 */
function edge(inside: number, limit: number, excess: (p: number) => number): number {
  let b = limit;
  let fb = excess(b);
  if (fb <= 0) return limit;
  // At a rate of 0 or 1 the boundary is 0 too: start just off it, where the boundary is already wider than the distance.
  let a = excess(inside) < 0 ? inside : inside + (limit - inside) * 1e-9;
  let fa = excess(a);
  // Illinois: an end kept twice in a row has its value halved, so both ends close in.
  let moved: 'a' | 'b' | null = null;
  for (let i = 0; i < 100 && Math.abs(b - a) > 1e-12; i++) {
    const c = (a * fb - b * fa) / (fb - fa);
    if (c === a || c === b) break;
    const fc = excess(c);
    if (fc > 0) {
      [b, fb] = [c, fc];
      if (moved === 'b') fa /= 2;
      moved = 'b';
    } else {
      [a, fa] = [c, fc];
      if (moved === 'a') fb /= 2;
      moved = 'a';
    }
  }
  return a;
}

/** b(V), the normal-mixture boundary for an estimate of variance V (0 at 0). */
export function alwaysValidHalfWidth(variance: number, options: AlwaysValidOptions = {}): number {
  return normalMixtureBoundary(options)(variance);
}

function normalMixtureBoundary({ alpha = 0.05, mixingSd = DEFAULT_MIXING_SD }: AlwaysValidOptions): (variance: number) => number {
  const tau2 = mixingSd * mixingSd;
  const level = 2 * Math.log(1 / alpha);
  return (v) => (v <= 0 ? 0 : Math.sqrt(v * (1 + v / tau2) * (Math.log(1 + tau2 / v) + level)));
}
