/**
 * tsx bench/arbitration.ts [--seeds 5] [--people 2000] [--days 30] [--step 300] [--config config]
 *
 * What does arbitration by expected value change against arbitration by
 * priority, on the same people? For each seed the closed loop of
 * bench/closed-loop.ts runs twice on the same population and touchpoints:
 * once with the product config as it is but `arbitration.method: priority`,
 * once with `expected-value`; both with the conversion values below. Per
 * rule and method: commands sent and conversions of the people sent one
 * (first exposures and repeats), per seed, and the lift measured on every
 * seed's people pooled, with its 95 % interval; the simulator's true uplift
 * beside it.
 *
 * Only firings of one person inside the arbitration window compete, and a
 * rule needs 30 people per group in its task partition before its draws
 * count, so the two methods part only after the first weeks and only where
 * rules meet.
 */
import { emptyTally, liftEstimate, TALLY_FIELDS, type LiftTally } from '../processors/outcomes/lift';
import type { ArbitrationMethod } from '../processors/triggers/config';
import type { ProductConfig } from '../topology';
import { ProgressBar } from '../cli/progress';
import { loopSettings, runClosedLoop, type ClosedLoopResult } from './closed-loop';

const METHODS: readonly ArbitrationMethod[] = ['priority', 'expected-value'];

/**
 * What one conversion of each shipped rule is worth, illustrative: a
 * mortgage application far above a purchase, a login back worth little.
 */
const CONVERSION_VALUES: Record<string, number> = {
  mortgage_calculator_repeat: 250,
  mortgage_shopper_banner: 250,
  low_balance_after_bill: 10,
  card_churn_retention: 20,
  dormant_win_back: 5,
  cart_abandoned: 30,
  anonymous_search_help: 30,
};

/** The product config with this arbitration method and the values above. */
function withMethod(config: ProductConfig, method: ArbitrationMethod): ProductConfig {
  const triggers = config.triggers.triggers.map((t) => {
    const value = CONVERSION_VALUES[t.id];
    return value === undefined ? t : { ...t, engage: { ...t.engage, value } };
  });
  return { ...config, triggers: { ...config.triggers, arbitration: { method }, triggers } };
}

interface MethodTotals {
  commands: number;
  conversions: number;
  counts: LiftTally;
}

/** Per rule: commands and conversions summed over seeds, counts pooled. */
function totals(results: readonly ClosedLoopResult[]): Map<string, MethodTotals> {
  const byRule = new Map<string, MethodTotals>();
  const of = (id: string): MethodTotals => {
    let t = byRule.get(id);
    if (t === undefined) byRule.set(id, (t = { commands: 0, conversions: 0, counts: emptyTally() }));
    return t;
  };
  for (const r of results) {
    for (const [id, n] of r.commands) of(id).commands += n;
    for (const [id, { counts }] of r.lift) {
      const t = of(id);
      for (const field of TALLY_FIELDS) t.counts[field] += counts[field];
      t.conversions += counts.treatedConverted + counts.repeatTreatedConverted;
    }
  }
  return byRule;
}

const points = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;

function liftText(counts: LiftTally): string {
  const e = liftEstimate(counts);
  if (e.lift === null || e.ci95 === null) return 'no control';
  return `${points(e.lift)} [${points(e.ci95[0])}, ${points(e.ci95[1])}]${e.enoughData ? '' : ' (few)'}`;
}

function methodCells(t: MethodTotals | undefined, seeds: number): string {
  if (t === undefined) return `${'0'.padStart(7)} ${'0'.padStart(7)} ${'-'.padEnd(30)}`;
  return `${(t.commands / seeds).toFixed(0).padStart(7)} ${(t.conversions / seeds).toFixed(0).padStart(7)} ${liftText(t.counts).padEnd(30)}`;
}

function report(byMethod: ReadonlyMap<ArbitrationMethod, ClosedLoopResult[]>, seeds: number): string {
  const tables = new Map([...byMethod].map(([method, results]) => [method, totals(results)]));
  const uplift = new Map(byMethod.get('priority')!.flatMap((r) => [...r.lift].map(([id, l]) => [id, l.uplift] as const)));
  const rules = [...new Set([...tables.values()].flatMap((t) => [...t.keys()]))].sort();
  const head = METHODS.map((m) => `${m.padEnd(46)}`).join(' | ');
  const columns = METHODS.map(() => `${'sent'.padStart(7)} ${'conv'.padStart(7)} ${'lift [95 % interval]'.padEnd(30)}`).join(' | ');
  const lines = [`${''.padEnd(28)} ${'true u'.padStart(6)} ${'value'.padStart(5)} | ${head}`, `${'trigger'.padEnd(28)} ${''.padStart(6)} ${''.padStart(5)} | ${columns}`];
  for (const id of rules) {
    const u = uplift.get(id);
    const cells = METHODS.map((m) => methodCells(tables.get(m)!.get(id), seeds)).join(' | ');
    lines.push(`${id.padEnd(28)} ${(u === undefined ? '' : points(u)).padStart(6)} ${String(CONVERSION_VALUES[id] ?? 1).padStart(5)} | ${cells}`);
  }
  const all = METHODS.map((m) => {
    const t = [...tables.get(m)!.values()];
    const sum = (f: (x: MethodTotals) => number) => (t.reduce((s, x) => s + f(x), 0) / seeds).toFixed(0).padStart(7);
    return `${sum((x) => x.commands)} ${sum((x) => x.conversions)} ${''.padEnd(30)}`;
  });
  lines.push(`${'all rules'.padEnd(28)} ${''.padStart(6)} ${''.padStart(5)} | ${all.join(' | ')}`);
  lines.push('(sent, conv: per seed, conv = conversions of people sent a command; lift in points on all seeds pooled, first exposures; (few): under 30 per group)');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { seeds, people, days, stepMs, config } = loopSettings(5);
  const bar = new ProgressBar({ label: 'arbitration', unit: 'runs' });
  const started = performance.now();
  const byMethod = new Map<ArbitrationMethod, ClosedLoopResult[]>(METHODS.map((m) => [m, []]));
  let runs = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    for (const method of METHODS) {
      byMethod.get(method)!.push(await runClosedLoop({ bench: `arbitration-${method}`, seed, people, days, stepMs, config: withMethod(config, method) }));
      bar.update({ count: ++runs, total: seeds * METHODS.length, detail: `seed ${seed}, ${method}` });
    }
  }
  bar.finish({ count: runs, total: runs });
  console.log(
    `bench:arbitration  ${seeds} seeds x ${people} people x ${days} days, each method on the same seeds, steps of ${stepMs / 1000} s event time; ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log(report(byMethod, seeds));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
