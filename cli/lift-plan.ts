/**
 * listening-post lift plan --control-rate 12 --lift 10 --holdout 10 [--half-width 2] [--per-day N]
 *
 * How many people (first exposures) and days a rule's lift interval needs
 * (processors/outcomes/plan.ts), before its holdout is set.
 */
import { planLift, type LiftPlan } from '../processors/outcomes/plan';
import { custom, parseOptions, positive, usage, UsageError, type Option } from './args';

/** A number in percent or points, read as a share; `accepts` and `expected` say which numbers are allowed. */
function percent(arg: string, help: string, accepts: (n: number) => boolean, expected: string, fallback?: number): Option<number | undefined> {
  const read = (given: string | undefined, name: string) => {
    if (given === undefined) return fallback === undefined ? undefined : fallback / 100;
    const n = given.trim() === '' ? NaN : Number(given);
    if (!accepts(n)) throw new UsageError(`--${name} ${given}: expected ${expected}`);
    return n / 100;
  };
  return custom(arg, help, read, fallback?.toString());
}

const OPTIONS = {
  'control-rate': percent('PERCENT', 'conversion rate of the held-out group (12 for 12 %)', (n) => n >= 0 && n <= 100, 'a number from 0 to 100'),
  lift: percent('POINTS', 'expected lift: treated rate minus control rate (10 for 22 % against 12 %;\na negative one as --lift=-2)', (n) => n >= -100 && n <= 100, 'a number from -100 to 100'),
  holdout: percent('PERCENT', 'share of people held out (10 for 10 %)', (n) => n > 0 && n < 100, 'a number above 0 and below 100'),
  'half-width': percent('POINTS', 'half-width of the 95% interval wanted', (n) => n > 0 && n <= 100, 'a number above 0, at most 100', 2),
  'per-day': positive('N', 'people exposed to the rule for the first time per day: gives days'),
};

export const LIFT_PLAN_USAGE = usage('usage: listening-post lift plan --control-rate PERCENT --lift POINTS --holdout PERCENT [options]', OPTIONS);

/** The plan for `argv` as text; a UsageError names the option at fault. */
export function liftPlan(argv: string[]): string {
  const options = parseOptions(OPTIONS, argv);
  if (options.help) return LIFT_PLAN_USAGE;
  const given = {
    controlRate: required(options['control-rate'], 'control-rate'),
    lift: required(options.lift, 'lift'),
    holdout: required(options.holdout, 'holdout'),
    halfWidth: options['half-width']!,
    perDay: options['per-day'],
  };
  let plan: LiftPlan;
  try {
    plan = planLift({ ...given, exposuresPerDay: given.perDay });
  } catch (error) {
    // The rates are checked together by the planner: name both options.
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError(`--control-rate ${round(given.controlRate * 100)} --lift ${round(given.lift * 100)}: ${error.message}`);
  }
  return formatPlan(plan, given);
}

function required(value: number | undefined, name: string): number {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

function formatPlan(plan: LiftPlan, given: { controlRate: number; lift: number; holdout: number; halfWidth: number; perDay: number | undefined }): string {
  const pct = (share: number) => `${round(share * 100)} %`;
  const days = (n: number | null) => (n === null ? '' : `, ${n.toLocaleString('en-US')} days at ${given.perDay!.toLocaleString('en-US')} a day`);
  const people = (n: number) => `${n.toLocaleString('en-US')} people`;
  return [
    `${pct(given.controlRate + given.lift)} treated against ${pct(given.controlRate)} in the control group (lift ${round(given.lift * 100)} points), ${pct(given.holdout)} of people held out;`,
    `for a 95% interval of ±${round(given.halfWidth * 100)} points (people counted at their first exposure):`,
    `  looked at once at the end (Newcombe):  ${people(plan.exposures)}${days(plan.days)}`,
    `  watched live (always valid):           ${people(plan.alwaysValidExposures)}${days(plan.alwaysValidDays)}`,
  ].join('\n');
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
