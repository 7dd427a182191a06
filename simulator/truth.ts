import { readFileSync, writeFileSync } from 'node:fs';
import type { Business } from './config';
import type { GeneratorStats, TouchpointGenerator } from './generator';
import type { TriggerModel } from './model';
import { findRoot, type IdentitySlot, type Population } from './population';

/**
 * What really happened, for checking the engine: which identifiers belong
 * to which simulated person, and what each trigger truly does to
 * conversion. Identity accuracy is measured as pairwise precision and
 * recall of the engine's clustering (profile id per identifier) against it.
 */

export const TRUTH_FORMAT = 'listening-post-simulator-truth/1';

export interface TruthIdentifier {
  type: string;
  /** Normalised like the engine (e-mail trimmed + lower case, phone E.164): the engine's key is its keyed hash of `type:value`. */
  value: string;
  /**
   * Part of the person this identifier was provably linked to: identifiers
   * with one group met on a trusted authenticated event (a login, a
   * verified call, card + PIN) directly or through others. Identifiers the
   * engine could only guess at (a cookie never used to log in) are alone
   * in their group.
   */
  group: number;
}

export interface TruthPerson {
  id: string;
  persona: string;
  business: Business;
  customer: boolean;
  /** A bill payer whose balance runs low. */
  atRisk: boolean;
  /** Two people with one household number share a tablet. */
  household: number | null;
  timeZone: string;
  /** Every identifier the person showed on a touchpoint so far, except shared ones. */
  identifiers: TruthIdentifier[];
}

export interface TruthTrigger {
  /** Conversion probability without engagement (held out, or never engaged). */
  baseRate: number;
  /** The true uplift: a person sent the command converts with baseRate + uplift. */
  uplift: number;
  conversionEvent: string;
  conversionChannel: string;
  /** [min, max] ms after the command or decision. */
  conversionDelayMs: [number, number];
}

export interface GroundTruth {
  format: typeof TRUTH_FORMAT;
  seed: number;
  people: number;
  /** Prefix of every event id of this seed. */
  tag: string;
  /** Period generated: ISO times. `through` is the last touchpoint's time (null before the first). */
  start: string | null;
  end: string | null;
  through: string | null;
  stats: GeneratorStats | null;
  normalisation: string;
  persons: TruthPerson[];
  /** Identifiers of shared devices: they belong to several people, so they are not in any person's list. */
  shared: { type: string; value: string; persons: string[] }[];
  triggers: Record<string, TruthTrigger>;
  /** Applies to any trigger not in `triggers`. */
  defaultTrigger: TruthTrigger;
}

/** The ground truth of a population, as far as `generator` has emitted touchpoints. */
export function groundTruth(population: Population, generator?: TouchpointGenerator): GroundTruth {
  const shared = new Map<string, { type: string; value: string; persons: string[] }>();
  const persons = population.persons.map((person): TruthPerson => {
    const groups = new Map<IdentitySlot, number>();
    const identifiers: TruthIdentifier[] = [];
    for (const slot of person.slots) {
      if (!slot.used) continue;
      if (slot.shared) {
        const key = `${slot.type}:${slot.value}`;
        const entry = shared.get(key) ?? { type: slot.type, value: slot.value, persons: [] };
        entry.persons.push(person.id);
        shared.set(key, entry);
        continue;
      }
      const root = findRoot(slot);
      let group = groups.get(root);
      if (group === undefined) {
        group = groups.size;
        groups.set(root, group);
      }
      identifiers.push({ type: slot.type, value: slot.value, group });
    }
    return {
      id: person.id,
      persona: person.persona.id,
      business: person.business,
      customer: person.customer,
      atRisk: person.atRisk,
      household: person.household,
      timeZone: person.timeZone,
      identifiers,
    };
  });
  const model = population.model;
  const iso = (t: number) => new Date(t).toISOString();
  const emitted = generator !== undefined && generator.stats.touchpoints > 0;
  return {
    format: TRUTH_FORMAT,
    seed: population.seed,
    people: population.size,
    tag: population.tag,
    start: generator ? iso(generator.start) : null,
    end: generator ? iso(generator.end) : null,
    through: emitted ? iso(generator.clock) : null,
    stats: generator ? { ...generator.stats } : null,
    normalisation: 'identifier values are normalised like the engine does before hashing: e-mail trimmed and lower-cased, phone in E.164, others trimmed; channels sent raw spellings of them',
    persons,
    shared: [...shared.values()],
    triggers: Object.fromEntries([...model.triggers].map(([id, t]) => [id, truthTrigger(t)])),
    defaultTrigger: truthTrigger(model.defaultTrigger),
  };
}

function truthTrigger(t: TriggerModel): TruthTrigger {
  return {
    baseRate: t.baseRate,
    uplift: t.uplift,
    conversionEvent: t.conversionEvent,
    conversionChannel: t.conversionChannel,
    conversionDelayMs: [t.delayMinMs, t.delayMaxMs],
  };
}

/** Writes the truth as JSON: one line per person, so a large file stays greppable. */
export function writeGroundTruth(file: string, truth: GroundTruth): void {
  const { persons, ...head } = truth;
  const lines = persons.map((p) => JSON.stringify(p));
  const text = `${JSON.stringify(head).slice(0, -1)},"persons":[\n${lines.join(',\n')}\n]}\n`;
  writeFileSync(file, text);
}

export function readGroundTruth(file: string): GroundTruth {
  const truth = JSON.parse(readFileSync(file, 'utf8')) as GroundTruth;
  if (truth.format !== TRUTH_FORMAT) throw new Error(`${file}: not a simulator ground truth (format ${String(truth.format)}, expected ${TRUTH_FORMAT})`);
  return truth;
}

export interface PairwiseOptions {
  /**
   * The key of an identifier in `predicted`. Default `type:value` with the
   * truth's normalised value; to score the engine's identity graph pass
   * its keyed hash (e.g. `(type, value) => hasher.hash(type, value)`).
   */
  key?: (type: string, value: string) => string;
  /**
   * What the true clusters are: 'person' (default), or 'provable' - each
   * person split into the groups that trusted authenticated events linked,
   * i.e. what a resolver that never guesses can reach.
   */
  against?: 'person' | 'provable';
}

export interface PairwiseScore {
  /** Correct pairs / pairs the prediction put together (1 when it put none together). */
  precision: number;
  /** Correct pairs / pairs that truly belong together (1 when none do). */
  recall: number;
  f1: number;
  /** Identifiers scored: every identifier of the truth (shared ones excluded). */
  identifiers: number;
  /** Of those, not in `predicted`: each counts as a cluster of its own. */
  missing: number;
  truePairs: number;
  predictedPairs: number;
  correctPairs: number;
}

/**
 * Pairwise precision and recall of a clustering (profile id per identifier
 * key) against the ground truth, counting pairs of identifiers. O(n) in
 * identifiers: pairs are counted per cluster and per (true cluster,
 * predicted cluster) intersection as n(n-1)/2, never enumerated.
 * Identifiers in `predicted` but not in the truth (shared devices, junk)
 * are not scored.
 */
export function pairwisePrecisionRecall(
  truth: Pick<GroundTruth, 'persons'>,
  predicted: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
  options: PairwiseOptions = {},
): PairwiseScore {
  const key = options.key ?? ((type: string, value: string) => `${type}:${value}`);
  const lookup: (k: string) => string | undefined =
    predicted instanceof Map ? (k) => predicted.get(k) : (k) => (Object.prototype.hasOwnProperty.call(predicted, k) ? (predicted as Record<string, string>)[k] : undefined);
  const provable = options.against === 'provable';
  const cells = new Map<string, number>();
  const predictedSizes = new Map<string, number>();
  const seen = new Set<string>();
  let truePairs = 0;
  let identifiers = 0;
  let missing = 0;
  for (const person of truth.persons) {
    const trueSizes = new Map<number, number>();
    for (const id of person.identifiers) {
      const k = key(id.type, id.value);
      if (seen.has(k)) continue;
      seen.add(k);
      identifiers++;
      let cluster = lookup(k);
      if (cluster === undefined) {
        missing++;
        cluster = `\u0000missing:${k}`;
      }
      const trueCluster = provable ? id.group : 0;
      trueSizes.set(trueCluster, (trueSizes.get(trueCluster) ?? 0) + 1);
      predictedSizes.set(cluster, (predictedSizes.get(cluster) ?? 0) + 1);
      const cell = `${person.id}\u0000${trueCluster}\u0000${cluster}`;
      cells.set(cell, (cells.get(cell) ?? 0) + 1);
    }
    for (const n of trueSizes.values()) truePairs += pairs(n);
  }
  let predictedPairs = 0;
  for (const n of predictedSizes.values()) predictedPairs += pairs(n);
  let correctPairs = 0;
  for (const n of cells.values()) correctPairs += pairs(n);
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, identifiers, missing, truePairs, predictedPairs, correctPairs };
}

function pairs(n: number): number {
  return (n * (n - 1)) / 2;
}
