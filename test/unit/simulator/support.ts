import { readFileSync } from 'node:fs';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { DEFAULT_PERSONAS_FILE, loadSimulatorConfig, parseSimulatorConfig, type SimulatorConfig } from '../../../simulator/config';
import { TouchpointGenerator } from '../../../simulator/generator';
import { buildModel, type SimulatorModel } from '../../../simulator/model';
import { createPopulation, type Population } from '../../../simulator/population';
import { parseEventId } from '../../../simulator/responder';

export const DAY = 86_400_000;

let defaultModel: SimulatorModel | undefined;

/** The model of simulator/personas.yaml, loaded once per test file. */
export function personasModel(): SimulatorModel {
  defaultModel ??= buildModel(loadSimulatorConfig());
  return defaultModel;
}

/** simulator/personas.yaml with some of its text replaced (each `from` must occur). */
export function variantConfig(...replacements: [string, string][]): SimulatorConfig {
  let text = readFileSync(DEFAULT_PERSONAS_FILE, 'utf8');
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`personas.yaml has no '${from}'`);
    text = text.replace(from, to);
  }
  return parseSimulatorConfig('variant.yaml', text);
}

export interface Simulation {
  population: Population;
  generator: TouchpointGenerator;
  events: Touchpoint[];
}

export function simulate(seed: number, people: number, days: number, model: SimulatorModel = personasModel()): Simulation {
  const population = createPopulation({ seed, people, model });
  const generator = new TouchpointGenerator(population, { days });
  const events: Touchpoint[] = [];
  for (let t = generator.take(); t !== undefined; t = generator.take()) events.push(t);
  return { population, generator, events };
}

/** The simulated person behind a touchpoint. */
export function personOf(sim: Simulation, t: Touchpoint) {
  const parsed = parseEventId(t.eventId);
  if (!parsed) throw new Error(`not a simulator event id: ${t.eventId}`);
  return sim.population.persons[parsed.person]!;
}

export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
