/**
 * tsx bench/lift.ts [--seeds 20] [--people 2000] [--days 30] [--step 300] [--config config]
 *
 * Is the lift the engine measures the lift the simulated people have?
 * For each seed: the whole product in process, fed the simulator's
 * population in event-time order, `--step` seconds of event time at a
 * time; after each step the people answer the commands and held-out
 * decisions that came out (simulator/responder.ts, in event time relative
 * to their exposure), and their answers go back into the stream. At the
 * end, each trigger's lift as the engine published it (engagement.lift,
 * summed over partitions) is compared with the simulator's true uplift u:
 * per rule, the mean bias (measured - u, in points) and the share of
 * seeds whose 95 % interval holds u (coverage; the goal is 93-97 %).
 *
 * The true lift is u only where the population's own behaviour never
 * produces the trigger's conversion event (simulator/README.md, "What a
 * correct engine should measure"): where it does (purchase: cart_abandoned,
 * anonymous_search_help), the measured lift is (1 - q) u, a little less.
 */
import { join } from 'node:path';
import { loadProductConfig } from '../config/product';
import { liftEstimate, type LiftCounts, type TriggerLift } from '../processors/outcomes/lift';
import type { EngagementCommand, EngagementDecision } from '../processors/triggers/records';
import { InProcessEngine } from '../runtime/in-process-engine';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { InMemoryRegistry } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { createPopulation, TouchpointGenerator } from '../simulator';
import { OutcomeResponder, triggerTruth } from '../simulator/responder';
import { buildTopology, SCHEMAS_DIR, topicNames, type ProductConfig } from '../topology';
import { ProgressBar } from '../cli/progress';
import { option } from './support';

const PARTITIONS = 4;
const topic = topicNames();

interface SeedResult {
  seed: number;
  touchpoints: number;
  /** By trigger id: the engine's counts and the true uplift. */
  lift: Map<string, { counts: LiftCounts; uplift: number }>;
}

/** Decodes what the engine produced to one topic since the last call. */
class OutputReader<T> {
  private next = 0;
  private readonly serde: AvroSerde<T>;

  constructor(
    private readonly engine: InProcessEngine,
    private readonly topic: string,
    registry: InMemoryRegistry,
    type: string,
  ) {
    this.serde = new AvroSerde<T>(registry, SchemaCatalog.load(SCHEMAS_DIR).type(type));
  }

  async read(): Promise<T[]> {
    const produced = this.engine.producedRecords;
    const values: Buffer[] = [];
    for (; this.next < produced.length; this.next++) {
      const r = produced[this.next]!;
      if (r.topic === this.topic && r.value !== null) values.push(r.value);
    }
    await this.serde.prepare(this.topic, values);
    return values.map((v) => this.serde.deserialize(this.topic, v));
  }
}

async function runSeed(seed: number, people: number, days: number, stepMs: number, config: ProductConfig): Promise<SeedResult> {
  const registry = new InMemoryRegistry();
  const engine = await InProcessEngine.create(buildTopology({ appId: `lp-bench-lift-${seed}`, partitions: PARTITIONS, config, registry }), { checkValues: false });
  const population = createPopulation({ seed, people });
  const generator = new TouchpointGenerator(population, { days });
  const responder = new OutcomeResponder(population);
  const commands = new OutputReader<EngagementCommand>(engine, topic.commands, registry, 'EngagementCommand');
  const decisions = new OutputReader<EngagementDecision>(engine, topic.decisions, registry, 'EngagementDecision');
  let touchpoints = 0;
  let until = generator.start + stepMs;
  for (;;) {
    let piped = 0;
    for (let t = generator.take(); t !== undefined; t = generator.take()) {
      engine.pipe(topic.raw, Buffer.from(t.identifiers[0]?.value ?? t.eventId), t, { timestamp: t.occurredAt });
      piped++;
      if (t.occurredAt >= until) break;
    }
    touchpoints += piped;
    await engine.run();
    let answers = 0;
    for (const c of await commands.read()) answers += inject(generator, responder.respondToCommand(c, generator.clock));
    for (const d of await decisions.read()) answers += inject(generator, responder.respondToDecision(d, generator.clock));
    if (piped === 0 && answers === 0) {
      if (generator.done) break;
    }
    until = Math.max(until, generator.clock) + stepMs;
    if (generator.done && piped === 0) {
      // The period is over: let arbitration windows and attribution windows close, in steps, so late answers still come in.
      await engine.advanceTime(until);
    }
  }
  const lift = new Map<string, { counts: LiftCounts; uplift: number }>();
  const latest = new Map<string, TriggerLift>();
  for (const l of await new OutputReader<TriggerLift>(engine, topic.lift, registry, 'TriggerLift').read()) latest.set(`${l.triggerId}:${l.partition}`, l);
  for (const l of latest.values()) {
    const sum = lift.get(l.triggerId)?.counts ?? { treated: 0, treatedConverted: 0, control: 0, controlConverted: 0 };
    sum.treated += l.treated;
    sum.treatedConverted += l.treatedConverted;
    sum.control += l.control;
    sum.controlConverted += l.controlConverted;
    lift.set(l.triggerId, { counts: sum, uplift: triggerTruth(population, l.triggerId).uplift });
  }
  return { seed, touchpoints, lift };
}

function inject(generator: TouchpointGenerator, answer: Parameters<TouchpointGenerator['inject']>[0]): number {
  generator.inject(answer);
  return answer.length;
}

const points = (x: number) => (x * 100).toFixed(1);

function report(results: SeedResult[]): string {
  const triggers = [...new Set(results.flatMap((r) => [...r.lift.keys()]))].sort();
  const lines = [
    `${'trigger'.padEnd(28)} ${'true u'.padStart(7)} ${'mean lift'.padStart(9)} ${'bias'.padStart(6)} ${'coverage'.padStart(9)} ${'seeds'.padStart(5)} ${'treated'.padStart(8)} ${'control'.padStart(8)}  (points; people per seed: first exposures)`,
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
    const mean = runs.reduce((s, r) => s + r.lift, 0) / runs.length;
    const covered = runs.filter((r) => r.ci95[0] <= u && u <= r.ci95[1]).length / runs.length;
    const treated = runs.reduce((s, r) => s + r.counts.treated, 0) / runs.length;
    const control = runs.reduce((s, r) => s + r.counts.control, 0) / runs.length;
    lines.push(
      `${id.padEnd(28)} ${points(u).padStart(7)} ${points(mean).padStart(9)} ${points(mean - u).padStart(6)} ${`${(covered * 100).toFixed(0)} %`.padStart(9)} ${String(runs.length).padStart(5)} ${treated.toFixed(0).padStart(8)} ${control.toFixed(0).padStart(8)}`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const seeds = Number(option('seeds', '20'));
  const people = Number(option('people', '2000'));
  const days = Number(option('days', '30'));
  const stepMs = Number(option('step', '300')) * 1000;
  const config = loadProductConfig(join(__dirname, '..', option('config', 'config')));
  const bar = new ProgressBar({ label: 'lift', unit: 'seeds' });
  const started = performance.now();
  const results: SeedResult[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    results.push(await runSeed(seed, people, days, stepMs, config));
    bar.update({ count: seed, total: seeds, detail: `${results.at(-1)!.touchpoints} touchpoints in seed ${seed}` });
  }
  bar.finish({ count: seeds, total: seeds });
  const touchpoints = results.reduce((s, r) => s + r.touchpoints, 0);
  console.log(`bench:lift  ${seeds} seeds x ${people} people x ${days} days, steps of ${stepMs / 1000} s event time; ${touchpoints} touchpoints in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(report(results));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
