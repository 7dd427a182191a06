import { EVENT, touchpoint, type Touchpoint } from '../processors/model/touchpoint';
import { partitionForKey } from '../runtime/kafka/partitioner';
import { defaultKey } from '../replay/sources';
import { TouchpointGenerator } from '../simulator/generator';
import { createPopulation } from '../simulator/population';
import { Rng, seedFor } from '../simulator/random';
import { groundTruth, type GroundTruth } from '../simulator/truth';

export interface WorkloadOptions {
  seed: number;
  people: number;
  days: number;
  partitions: number;
  /** Stop the simulation after this many touchpoints (the population's period may hold more). */
  maxTouchpoints?: number;
  /**
   * Wrong call-centre merges to add, each undone by an identity_correction
   * a day later (identity.yaml `reversibleMerges`), so that splits run
   * under the faults too.
   */
  wrongMerges?: number;
}

/** One touchpoint as a channel sends it: keyed by its first identifier, on the partition that key hashes to. */
export interface RawInput {
  partition: number;
  key: Buffer;
  touchpoint: Touchpoint;
}

export interface Workload {
  options: WorkloadOptions;
  inputs: RawInput[];
  /** Who is who, for identity checks and for the raw PII the privacy scan looks for. */
  truth: GroundTruth;
}

/**
 * The proof's input: the simulator's seeded population, as channels would
 * send it. The same options give the same records in the same order, so a
 * failure is reproducible from its seed.
 */
export function workload(options: WorkloadOptions): Workload {
  const population = createPopulation({ seed: options.seed, people: options.people });
  const generator = new TouchpointGenerator(population, { days: options.days });
  const inputs: RawInput[] = [];
  const max = options.maxTouchpoints ?? Number.POSITIVE_INFINITY;
  const touchpoints: Touchpoint[] = [];
  for (let t = generator.take(); t !== undefined && touchpoints.length < max; t = generator.take()) touchpoints.push(t);
  const all = options.wrongMerges ? withWrongMerges(touchpoints, options.wrongMerges, options.seed) : touchpoints;
  for (const t of all) {
    const key = defaultKey(t);
    inputs.push({ partition: partitionForKey(key, options.partitions), key, touchpoint: t });
  }
  return { options, inputs, truth: groundTruth(population, generator) };
}

const DAY = 86_400_000;

/**
 * Adds `count` wrong merges and their corrections: an agent attaches a
 * customer's id to a call from someone else's phone, email or cookie (an
 * identifier seen earlier on another person's touchpoint), and a day later
 * corrects it by naming that identifier. Chosen from the seed; each record
 * goes where its event time puts it among the others.
 */
function withWrongMerges(touchpoints: readonly Touchpoint[], count: number, seed: number): Touchpoint[] {
  const rng = new Rng(seedFor(seed, 'wrong-merges'));
  const first = touchpoints[0]?.occurredAt ?? 0;
  const last = touchpoints[touchpoints.length - 1]?.occurredAt ?? 0;
  const customers = touchpoints.filter((t) => t.occurredAt < last - 2 * DAY && t.identifiers.some((i) => i.type === 'customer_id'));
  const others = touchpoints.filter((t) => t.identifiers.length === 1 && t.identifiers[0]!.type !== 'customer_id');
  const added: Touchpoint[] = [];
  for (let n = 0; n < count && customers.length > 0 && others.length > 0; n++) {
    const customer = customers[rng.int(customers.length)]!;
    const other = others[rng.int(others.length)]!;
    const at = Math.max(customer.occurredAt, other.occurredAt, first) + 60_000;
    const customerId = customer.identifiers.find((i) => i.type === 'customer_id')!;
    const named = other.identifiers[0]!;
    const call = { channel: 'call_centre', authenticated: true };
    added.push(touchpoint({ eventId: `wrong-merge-${n}`, occurredAt: at, eventType: 'call', identifiers: [customerId, named], ...call }));
    added.push(touchpoint({ eventId: `correction-${n}`, occurredAt: at + DAY, eventType: EVENT.identityCorrection, identifiers: [named], attributes: { reason: 'wrong caller verified' }, ...call }));
  }
  return [...touchpoints, ...added].sort((a, b) => a.occurredAt - b.occurredAt);
}
