/**
 * The simulator as a library (the demo and the benchmarks run it in
 * process; simulator/cli.ts runs it against a broker):
 *
 *   const population = createPopulation({ seed: 42, people: 10_000 });
 *   const generator = new TouchpointGenerator(population, { days: 30 });
 *   const responder = new OutcomeResponder(population);
 *   for (let t = generator.take(); t; t = generator.take()) send(t);
 *   generator.inject(responder.respondToCommand(command, generator.clock));
 *   writeGroundTruth('truth.json', groundTruth(population, generator));
 *
 * simulator/README.md has the model behind each piece.
 */
export { DEFAULT_PERSONAS_FILE, loadSimulatorConfig, parseSimulatorConfig, type SimulatorConfig } from './config';
export { buildModel, type SimulatorModel } from './model';
export { createPopulation, Population, type Person, type PopulationOptions } from './population';
export { generateTouchpoints, TouchpointGenerator, type GeneratorOptions, type GeneratorStats } from './generator';
export { MALFORMED_ATTRIBUTE, MALFORMED_KINDS, type MalformedKind } from './sessions';
export {
  commandOutcomes,
  decisionOutcomes,
  OutcomeResponder,
  parseEventId,
  type CommandLike,
  type DecisionLike,
  type ParsedEventId,
  type ResponderStats,
} from './responder';
export {
  groundTruth,
  pairwisePrecisionRecall,
  readGroundTruth,
  writeGroundTruth,
  type GroundTruth,
  type PairwiseOptions,
  type PairwiseScore,
  type TruthPerson,
  type TruthTrigger,
} from './truth';
export { Rng } from './random';
