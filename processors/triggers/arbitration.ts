import { hasEnoughData, MIN_EXPOSURES_PER_GROUP, type LiftCounts } from '../outcomes/lift';
import type { ArbitrationMethod } from './config';
import type { CompiledTrigger } from './rules';
import { rateDraw, seededUniform } from './sampling';

/** This task partition's lift counts (store `lift`) by trigger id; a rule missing here has none yet. */
export type LiftByTrigger = ReadonlyMap<string, LiftCounts>;

export const NO_LIFT: LiftByTrigger = new Map();

/** A firing that passed every check before arbitration. */
export interface Contender {
  trigger: CompiledTrigger;
  firing: { causeAt: number };
  /** The firing's deterministic command id: it seeds the firing's draw. */
  commandId: string;
}

export interface Arbitration<C extends Contender> {
  winner: C | undefined;
  /** What the arbitration check of each contender says. */
  details: Map<C, string>;
}

type Unsampled = { enoughData: false; counts: LiftCounts };
type Sampled = { enoughData: true; upliftDraw: number; expectedValue: number };
/** What a contender brings to expected-value arbitration. */
type Evidence = Unsampled | Sampled;

/**
 * Picks the one firing of a person's window that goes on.
 *
 * `priority`: the highest priority, then the earliest cause, then rule id.
 *
 * `expected-value`: rules whose lift has enough data (`hasEnoughData`,
 * at least MIN_EXPOSURES_PER_GROUP people a group) are ranked by a Thompson draw: a treated and a control
 * rate drawn from their Beta posteriors, uplift = the difference, times the
 * rule's `value`; the draw is seeded by the firing's command id, so a replay
 * decides alike. A rule without enough data keeps its priority, and wins
 * only if it comes first in priority order, above every rule with data:
 * that is how it would have won before, so a new rule gets the exposures
 * its data must come from exactly where its author placed it, and no prior
 * has to be invented for an uplift nobody has measured.
 */
export function arbitrate<C extends Contender>(contenders: readonly C[], method: ArbitrationMethod, lift: LiftByTrigger): Arbitration<C> {
  const ranked = [...contenders].sort(priorityOrder);
  const first = ranked[0];
  if (first === undefined) return { winner: undefined, details: new Map() };
  if (ranked.length === 1) return { winner: first, details: new Map([[first, `only firing in the window (priority ${first.trigger.priority})`]]) };
  if (method === 'priority') return byPriority(ranked);
  const evidence = new Map(ranked.map((c) => [c, evidenceOf(c, lift)]));
  const firstEvidence = evidence.get(first)!;
  return firstEvidence.enoughData ? byExpectedValue(ranked, evidence) : byPriorityWithoutData(ranked, firstEvidence);
}

function priorityOrder(a: Contender, b: Contender): number {
  return (
    b.trigger.priority - a.trigger.priority ||
    a.firing.causeAt - b.firing.causeAt ||
    (a.trigger.id < b.trigger.id ? -1 : a.trigger.id > b.trigger.id ? 1 : 0)
  );
}

function byPriority<C extends Contender>(ranked: readonly C[]): Arbitration<C> {
  const winner = ranked[0]!;
  const details = new Map<C, string>([[winner, `highest priority of ${ranked.length} firings (${winner.trigger.priority})`]]);
  for (const loser of ranked.slice(1)) details.set(loser, `outranked by ${winner.trigger.id} (priority ${winner.trigger.priority} vs ${loser.trigger.priority})`);
  return { winner, details };
}

/** The first in priority order has no data: it is explored, as under `priority`. */
function byPriorityWithoutData<C extends Contender>(ranked: readonly C[], winnerEvidence: Unsampled): Arbitration<C> {
  const winner = ranked[0]!;
  const details = new Map<C, string>([[winner, `${noDataYet(winner, winnerEvidence)}: priority ${winner.trigger.priority}, highest of ${ranked.length} firings`]]);
  for (const loser of ranked.slice(1)) {
    details.set(loser, `outranked by ${winner.trigger.id} (no data yet: priority ${winner.trigger.priority} vs ${loser.trigger.priority})`);
  }
  return { winner, details };
}

/** The first in priority order has data: the rules with data compete on their draws; the rest lost on priority. */
function byExpectedValue<C extends Contender>(ranked: readonly C[], evidence: ReadonlyMap<C, Evidence>): Arbitration<C> {
  const sampled = ranked.flatMap((c) => {
    const e = evidence.get(c)!;
    return e.enoughData ? [{ contender: c, evidence: e }] : [];
  });
  // a stable sort: equal expected values keep the priority order
  const best = sampled.sort((a, b) => b.evidence.expectedValue - a.evidence.expectedValue)[0]!;
  const winner = best.contender;
  const top = ranked[0]!;
  const others = ranked.filter((c) => c !== winner).map((c) => `${c.trigger.id} ${comparedValue(c, evidence.get(c)!)}`);
  const details = new Map<C, string>([[winner, `highest expected value of ${ranked.length} firings: ${drawText(winner, best.evidence)} vs ${others.join(', ')}`]]);
  for (const loser of ranked) {
    if (loser === winner) continue;
    const e = evidence.get(loser)!;
    details.set(
      loser,
      e.enoughData
        ? `outranked by ${winner.trigger.id}: ${drawText(loser, e)} vs ${winner.trigger.id} ${formatValue(best.evidence.expectedValue)}`
        : `outranked by ${winner.trigger.id}: ${noDataYet(loser, e)}: priority ${loser.trigger.priority} vs ${top.trigger.id}'s ${top.trigger.priority}`,
    );
  }
  return { winner, details };
}

function evidenceOf(contender: Contender, lift: LiftByTrigger): Evidence {
  const counts = lift.get(contender.trigger.id) ?? { treated: 0, treatedConverted: 0, control: 0, controlConverted: 0 };
  if (!hasEnoughData(counts)) return { enoughData: false, counts };
  const upliftDraw = sampleUplift(counts, contender.commandId);
  return { enoughData: true, upliftDraw, expectedValue: upliftDraw * contender.trigger.value };
}

/** One Thompson draw of the uplift: treated rate minus control rate, each from Beta(1 + converted, 1 + not converted). */
export function sampleUplift(counts: LiftCounts, seed: string): number {
  const uniform = seededUniform(seed);
  return rateDraw(counts.treatedConverted, counts.treated, uniform) - rateDraw(counts.controlConverted, counts.control, uniform);
}

function drawText(c: Contender, e: Sampled): string {
  const points = `${e.upliftDraw < 0 ? '-' : '+'}${Math.abs(e.upliftDraw * 100).toFixed(1)} pts`;
  return `expected value ${formatValue(e.expectedValue)} (uplift draw ${points} × value ${c.trigger.value})`;
}

function comparedValue(c: Contender, e: Evidence): string {
  return e.enoughData ? formatValue(e.expectedValue) : `no data yet (priority ${c.trigger.priority})`;
}

function noDataYet(c: Contender, e: Unsampled): string {
  return `no data yet for ${c.trigger.id} (${e.counts.treated} treated, ${e.counts.control} control; ${MIN_EXPOSURES_PER_GROUP} per group needed)`;
}

/** Three significant digits: 0.42, 21, -0.00312, whatever the scale of the values. */
const formatValue = (x: number): string => String(Number(x.toPrecision(3)));
