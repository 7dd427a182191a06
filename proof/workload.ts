import type { Touchpoint } from '../processors/model/touchpoint';
import { partitionForKey } from '../runtime/kafka/partitioner';
import { defaultKey } from '../replay/sources';
import { TouchpointGenerator } from '../simulator/generator';
import { createPopulation } from '../simulator/population';
import { groundTruth, type GroundTruth } from '../simulator/truth';

export interface WorkloadOptions {
  seed: number;
  people: number;
  days: number;
  partitions: number;
  /** Stop the simulation after this many touchpoints (the population's period may hold more). */
  maxTouchpoints?: number;
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
  for (let t = generator.take(); t !== undefined && inputs.length < max; t = generator.take()) {
    const key = defaultKey(t);
    inputs.push({ partition: partitionForKey(key, options.partitions), key, touchpoint: t });
  }
  return { options, inputs, truth: groundTruth(population, generator) };
}
