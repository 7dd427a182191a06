/**
 * tsx bench/lift.ts [--seeds 20] [--people 2000] [--days 30] [--step 300] [--config config]
 *
 * Is the lift the engine measures the lift the simulated people have?
 * For each seed, the closed loop of bench/closed-loop.ts (`--step` seconds
 * of event time at a time); at the end, each trigger's lift as the engine
 * published it is compared with the simulator's true uplift u:
 * per rule, the mean bias (measured - u, in points) and the share of
 * seeds whose 95 % interval holds u (coverage; the goal is 93-97 %).
 * Beside it, as someone watching engagement.lift live after every step
 * would have seen it: the share of seeds whose fixed-sample interval held
 * u at every step (it does not promise to: peeking breaks it), and the same
 * for the always-valid interval (it promises 95 %).
 *
 * The lift a correct engine measures is u only where the population's own
 * behaviour never produces the trigger's conversion event
 * (simulator/README.md, "What a correct engine should measure"): where it
 * does (purchase: cart_abandoned, anonymous_search_help) it is (1 - q) u,
 * and bias and coverage are judged against that (`expectedLift`).
 */
import { liftEstimate } from '../processors/outcomes/lift';
import { ProgressBar } from '../cli/progress';
import { heldThroughout, loopSettings, runClosedLoop, type ClosedLoopResult } from './closed-loop';

const points = (x: number) => (x * 100).toFixed(1);
const percent = (share: number) => `${(share * 100).toFixed(0)} %`;

function report(results: ClosedLoopResult[]): string {
  const triggers = [...new Set(results.flatMap((r) => [...r.lift.keys()]))].sort();
  const lines = [
    `${'trigger'.padEnd(28)} ${'true u'.padStart(7)} ${'expected'.padStart(8)} ${'mean lift'.padStart(9)} ${'bias'.padStart(6)} ${'coverage'.padStart(9)} ${'peeking'.padStart(8)} ${'always-valid'.padStart(12)} ${'seeds'.padStart(5)} ${'treated'.padStart(8)} ${'control'.padStart(8)} ${'commands'.padStart(9)}`,
  ];
  for (const id of triggers) {
    const runs = results.flatMap((r) => {
      const l = r.lift.get(id);
      if (!l) return [];
      const estimate = liftEstimate(l.counts);
      return estimate.lift === null || estimate.ci95 === null ? [] : [{ ...l, lift: estimate.lift, ci95: estimate.ci95 }];
    });
    if (runs.length === 0) {
      lines.push(`${id.padEnd(28)} (no seed measured both groups)`);
      continue;
    }
    const u = runs[0]!.uplift;
    const expected = expectedLift(results, id);
    const mean = runs.reduce((s, r) => s + r.lift, 0) / runs.length;
    const covered = runs.filter((r) => r.ci95[0] <= expected && expected <= r.ci95[1]).length / runs.length;
    const treated = runs.reduce((s, r) => s + r.counts.treated, 0) / runs.length;
    const control = runs.reduce((s, r) => s + r.counts.control, 0) / runs.length;
    const commands = results.reduce((s, r) => s + (r.commands.get(id) ?? 0), 0) / results.length;
    const watched = results.flatMap((r) => r.peeking.get(id) ?? []);
    const share = (held: number) => percent(held / watched.length);
    const fixedWatched = share(watched.filter((p) => heldThroughout(p.fixed, expected)).length);
    const alwaysValidWatched = share(watched.filter((p) => heldThroughout(p.alwaysValid, expected)).length);
    lines.push(
      `${id.padEnd(28)} ${points(u).padStart(7)} ${points(expected).padStart(8)} ${points(mean).padStart(9)} ${points(mean - expected).padStart(6)} ${percent(covered).padStart(9)} ${fixedWatched.padStart(8)} ${alwaysValidWatched.padStart(12)} ${String(runs.length).padStart(5)} ${treated.toFixed(0).padStart(8)} ${control.toFixed(0).padStart(8)} ${commands.toFixed(0).padStart(9)}`,
    );
  }
  lines.push(
    '(points; expected: the lift a correct engine measures, (1 - q) u; bias = mean lift - expected; treated/control: people per seed at their first exposure;',
    ' commands: sent per seed; coverage: seeds whose final fixed-sample 95 % interval holds the expected lift;',
    ' peeking / always-valid: seeds whose fixed-sample / always-valid interval held it at every step it existed, as someone watching it live saw it)',
  );
  return lines.join('\n');
}

/**
 * (1 - q) u, the lift a correct engine measures. q, the chance that people
 * convert by themselves in the window, is 0 unless the population produced
 * the trigger's conversion event on its own (`purchase`); then it is
 * estimated from the control rate pooled over the seeds, c = 1 - (1 - q)(1 - b).
 */
function expectedLift(results: ClosedLoopResult[], triggerId: string): number {
  const measured = results.flatMap((r) => {
    const l = r.lift.get(triggerId);
    return l ? [{ ...l, organic: r.organicEvents.has(l.conversionEvent) }] : [];
  });
  const { uplift, baseRate } = measured[0]!;
  if (!measured.some((m) => m.organic)) return uplift;
  const control = measured.reduce((s, m) => s + m.counts.control, 0);
  const controlConverted = measured.reduce((s, m) => s + m.counts.controlConverted, 0);
  if (control === 0) return uplift;
  const q = Math.max(0, 1 - (1 - controlConverted / control) / (1 - baseRate));
  return (1 - q) * uplift;
}

async function main(): Promise<void> {
  const { seeds, people, days, stepMs, config } = loopSettings(20);
  const bar = new ProgressBar({ label: 'lift', unit: 'seeds' });
  const started = performance.now();
  const results: ClosedLoopResult[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    results.push(await runClosedLoop({ bench: 'lift', seed, people, days, stepMs, config }));
    bar.update({ count: seed, total: seeds, detail: `${results.at(-1)!.touchpoints} touchpoints in seed ${seed}` });
  }
  bar.finish({ count: seeds, total: seeds });
  const touchpoints = results.reduce((s, r) => s + r.touchpoints, 0);
  console.log(`bench:lift  ${seeds} seeds x ${people} people x ${days} days, steps of ${stepMs / 1000} s event time; ${touchpoints} touchpoints in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const commands = results.reduce((s, r) => s + [...r.commands.values()].reduce((a, b) => a + b, 0), 0);
  console.log(`commands sent: ${(commands / seeds).toFixed(0)} per seed, all triggers`);
  console.log(report(results));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
