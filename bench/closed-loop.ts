/**
 * The closed loop the lift and arbitration benches run: the whole product
 * in process, fed the simulator's population in event-time order, `stepMs`
 * of event time at a time; after each step the people answer the commands
 * and held-out decisions that came out (simulator/responder.ts, in event
 * time relative to their exposure), and their answers go back into the
 * stream. At the end, each trigger's counts as the engine published them
 * (engagement.lift, summed over partitions) beside the simulator's true
 * uplift, and the commands each trigger sent.
 */
import { join } from 'node:path';
import { loadProductConfig } from '../config/product';
import { liftEstimate, tallyOf, type LiftTally, type TriggerLift } from '../processors/outcomes/lift';
import { combineLift } from '../processors/outcomes/merge';
import type { EngagementCommand, EngagementDecision } from '../processors/triggers/records';
import { InProcessEngine } from '../runtime/in-process-engine';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { InMemoryRegistry } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { createPopulation, TouchpointGenerator } from '../simulator';
import { OutcomeResponder, parseEventId, triggerTruth } from '../simulator/responder';
import { buildTopology, SCHEMAS_DIR, topicNames, type ProductConfig } from '../topology';
import { option } from './support';

const PARTITIONS = 4;
const topic = topicNames();

export interface ClosedLoopOptions {
  /** Names the run's app id, `lp-bench-<bench>-<seed>`. */
  bench: string;
  seed: number;
  people: number;
  days: number;
  stepMs: number;
  config: ProductConfig;
}

export interface ClosedLoopResult {
  seed: number;
  touchpoints: number;
  /** By trigger id: the engine's counts and the simulator's truth (uplift u, base rate b, the event that converts). */
  lift: Map<string, { counts: LiftTally; uplift: number; baseRate: number; conversionEvent: string }>;
  /** Event types the population produced by itself (not answers to the engine): a trigger converting on one has organic conversions. */
  organicEvents: Set<string>;
  /** By trigger id: commands sent. */
  commands: Map<string, number>;
  /** By trigger id: the intervals someone watching it live saw. */
  peeking: Map<string, Peeking>;
}

/**
 * A trigger's intervals as a person watching engagement.lift after every
 * step saw them: an interval held a value at every step iff the value lies
 * between the highest lower bound and the lowest upper bound it showed.
 */
export interface Peeking {
  fixed: Envelope;
  alwaysValid: Envelope;
}

export interface Envelope {
  highestLow: number;
  lowestHigh: number;
}

/** `--seeds`, `--people`, `--days`, `--step` (seconds) and `--config` (directory) from the command line. */
export function loopSettings(defaultSeeds: number): { seeds: number; people: number; days: number; stepMs: number; config: ProductConfig } {
  return {
    seeds: Number(option('seeds', String(defaultSeeds))),
    people: Number(option('people', '2000')),
    days: Number(option('days', '30')),
    stepMs: Number(option('step', '300')) * 1000,
    config: loadProductConfig(join(__dirname, '..', option('config', 'config'))),
  };
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

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const { seed, people, days, stepMs, config } = options;
  const registry = new InMemoryRegistry();
  const appId = `lp-bench-${options.bench}-${seed}`;
  const engine = await InProcessEngine.create(buildTopology({ appId, partitions: PARTITIONS, config, registry }), { checkValues: false });
  const population = createPopulation({ seed, people });
  const generator = new TouchpointGenerator(population, { days });
  const responder = new OutcomeResponder(population);
  const commands = new OutputReader<EngagementCommand>(engine, topic.commands, registry, 'EngagementCommand');
  const decisions = new OutputReader<EngagementDecision>(engine, topic.decisions, registry, 'EngagementDecision');
  const lifts = new OutputReader<TriggerLift>(engine, topic.lift, registry, 'TriggerLift');
  /** The latest record of each (trigger, partition): what a reader of the compacted topic sees. */
  const latest = new Map<string, TriggerLift>();
  const peeking = new Map<string, Peeking>();
  const sent = new Map<string, number>();
  const organicEvents = new Set<string>();
  let touchpoints = 0;
  let until = generator.start + stepMs;
  for (;;) {
    let piped = 0;
    for (let t = generator.take(); t !== undefined; t = generator.take()) {
      engine.pipe(topic.raw, Buffer.from(t.identifiers[0]?.value ?? t.eventId), t, { timestamp: t.occurredAt });
      if (!isAnswer(t.eventId)) organicEvents.add(t.eventType);
      piped++;
      if (t.occurredAt >= until) break;
    }
    touchpoints += piped;
    await engine.run();
    const fresh = await lifts.read();
    if (fresh.length > 0) {
      for (const l of fresh) latest.set(`${l.triggerId}:${l.partition}`, l);
      const totals = combineLift(latest.values());
      for (const triggerId of new Set(fresh.map((l) => l.triggerId))) peek(peeking, triggerId, totals.get(triggerId)!);
    }
    let answers = 0;
    for (const c of await commands.read()) {
      sent.set(c.triggerId, (sent.get(c.triggerId) ?? 0) + 1);
      answers += inject(generator, responder.respondToCommand(c, generator.clock));
    }
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
  const lift: ClosedLoopResult['lift'] = new Map();
  for (const [triggerId, totals] of combineLift(latest.values())) {
    const { uplift, baseRate, conversionEvent } = triggerTruth(population, triggerId);
    lift.set(triggerId, { counts: tallyOf(totals), uplift, baseRate, conversionEvent });
  }
  return { seed, touchpoints, lift, commands: sent, peeking, organicEvents };
}

/** The responder's answers carry the command or decision id in their event id (simulator/responder.ts). */
function isAnswer(eventId: string): boolean {
  return parseEventId(eventId)?.seq.includes(':') ?? false;
}

function peek(peeking: Map<string, Peeking>, triggerId: string, counts: LiftTally): void {
  const { ci95, ci95AlwaysValid } = liftEstimate(counts);
  if (ci95 === null || ci95AlwaysValid === null) return;
  const seen = peeking.get(triggerId);
  peeking.set(triggerId, { fixed: narrowed(seen?.fixed, ci95), alwaysValid: narrowed(seen?.alwaysValid, ci95AlwaysValid) });
}

function narrowed(envelope: Envelope | undefined, [low, high]: [number, number]): Envelope {
  return { highestLow: Math.max(envelope?.highestLow ?? -1, low), lowestHigh: Math.min(envelope?.lowestHigh ?? 1, high) };
}

/** Held `value` at every step. */
export function heldThroughout(envelope: Envelope, value: number): boolean {
  return envelope.highestLow <= value && value <= envelope.lowestHigh;
}

function inject(generator: TouchpointGenerator, answer: Parameters<TouchpointGenerator['inject']>[0]): number {
  generator.inject(answer);
  return answer.length;
}
