/** Running counts of one trigger against its holdout group (per exposure). */
export interface LiftCounts {
  /** Treatment exposures: commands sent. */
  treated: number;
  /** Of those, how many converted inside the attribution window. */
  treatedConverted: number;
  /** Control exposures: people held out at the moment they would have been engaged. */
  control: number;
  controlConverted: number;
}

/** schemas/TriggerLift.avsc: what goes to engagement.lift, key trigger id. */
export interface TriggerLift extends LiftCounts {
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
  /** Standard error of the difference used for the interval. */
  standardError: number | null;
  /** 95% confidence interval of the absolute lift, clamped to [-1, 1]. */
  ci95: [number, number] | null;
  /** wald, or agresti-caffo when a group's rate is 0 or 1 (Wald's variance estimate would be 0 there). */
  method: 'wald' | 'agresti-caffo' | null;
  /** The interval excludes 0. */
  significant: boolean;
}

/** Two-sided 95% quantile of the standard normal. */
export const Z95 = 1.959963984540054;

/**
 * Conversion rates, absolute lift and its 95% confidence interval from the
 * normal approximation for the difference of two independent proportions
 * (Wald: se = sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)). When either group converted
 * never or always, Wald's interval collapses around an estimate that is
 * anything but certain, so the Agresti-Caffo adjustment (one success and
 * one failure added to each group) is used for the interval instead. With
 * no exposures in a group there is no rate and no lift (nulls).
 */
export function liftEstimate(counts: LiftCounts): LiftEstimate {
  const { treated: n1, treatedConverted: x1, control: n2, controlConverted: x2 } = counts;
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`lift count ${name} must be a whole number >= 0 (got ${value})`);
  }
  if (x1 > n1 || x2 > n2) throw new RangeError(`more conversions than exposures (treated ${x1}/${n1}, control ${x2}/${n2})`);
  const treatedRate = n1 > 0 ? x1 / n1 : null;
  const controlRate = n2 > 0 ? x2 / n2 : null;
  if (treatedRate === null || controlRate === null) {
    return { treatedRate, controlRate, lift: null, relativeLift: null, standardError: null, ci95: null, method: null, significant: false };
  }
  const lift = treatedRate - controlRate;
  const relativeLift = controlRate > 0 ? lift / controlRate : null;
  const degenerate = (r: number): boolean => r === 0 || r === 1;
  let centre: number;
  let standardError: number;
  let method: 'wald' | 'agresti-caffo';
  if (degenerate(treatedRate) || degenerate(controlRate)) {
    const p1 = (x1 + 1) / (n1 + 2);
    const p2 = (x2 + 1) / (n2 + 2);
    centre = p1 - p2;
    standardError = Math.sqrt((p1 * (1 - p1)) / (n1 + 2) + (p2 * (1 - p2)) / (n2 + 2));
    method = 'agresti-caffo';
  } else {
    centre = lift;
    standardError = Math.sqrt((treatedRate * (1 - treatedRate)) / n1 + (controlRate * (1 - controlRate)) / n2);
    method = 'wald';
  }
  const low = Math.max(-1, centre - Z95 * standardError);
  const high = Math.min(1, centre + Z95 * standardError);
  return { treatedRate, controlRate, lift, relativeLift, standardError, ci95: [low, high], method, significant: low > 0 || high < 0 };
}
