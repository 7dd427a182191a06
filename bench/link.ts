/**
 * tsx bench/link.ts [--touchpoints 100000] [--people 10000] [--batch 1000]
 *
 * The ceiling the single identity writer gives (processors/identity/README.md):
 * the link task alone, in process, with RocksDB state, on the link events
 * the simulated touchpoints produce.
 *
 *   1. (not timed) ingest and resolve run on the touchpoints, in batches
 *      of --batch with a commit after each (the identity graph every
 *      resolve reads is as current as that): what they send to
 *      identity.links is the link log, and its share of the touchpoints;
 *   2. (timed) a fresh link task reads that log.
 *
 * Prints link events/s and the touchpoints/s it would serve at that share.
 * The share depends on the population: people seen for the first time
 * link more than returning ones.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProductConfig } from '../config/product';
import type { Touchpoint } from '../processors/model/touchpoint';
import { InProcessEngine } from '../runtime/in-process-engine';
import { InMemoryRegistry } from '../runtime/serde/registry';
import { RocksBacking } from '../runtime/state/rocks-backing';
import { createPopulation, TouchpointGenerator } from '../simulator';
import { topicNames } from '../topology';
import { identityOnly } from './replay';
import { option } from './support';

const PARTITIONS = 4;
const topic = topicNames();

function identityTopology() {
  return identityOnly({ appId: 'lp-bench-link', partitions: PARTITIONS, config: loadProductConfig(join(__dirname, '..', 'config')), registry: new InMemoryRegistry() });
}

/** Pass 1: the link log the touchpoints give, captured from the ingest tasks' outputs. */
async function linkLog(touchpoints: readonly Touchpoint[], batch: number): Promise<Touchpoint[]> {
  const capture = await InProcessEngine.create(identityTopology(), { checkValues: false });
  for (let from = 0; from < touchpoints.length; from += batch) {
    for (const t of touchpoints.slice(from, from + batch)) capture.pipe(topic.raw, Buffer.from(t.identifiers[0]!.value), t, { timestamp: t.occurredAt });
    await capture.run();
  }
  return capture.output<string, Touchpoint>(topic.links).map((o) => o.value!);
}

async function main(): Promise<void> {
  const count = Number(option('touchpoints', '100000'));
  const people = Number(option('people', '10000'));
  const batch = Number(option('batch', '1000'));
  const generator = new TouchpointGenerator(createPopulation({ seed: 1, people }), { days: 365 });
  const touchpoints: Touchpoint[] = [];
  for (let t = generator.take(); t && touchpoints.length < count; t = generator.take()) touchpoints.push(t);
  const links = await linkLog(touchpoints, batch);
  const share = links.length / touchpoints.length;
  process.stdout.write(`${touchpoints.length} touchpoints of ${people} people: ${links.length} link events (${(100 * share).toFixed(1)} %), batch ${batch}, node ${process.version}\n`);

  const stateDir = await mkdtemp(join(tmpdir(), 'lp-bench-link-'));
  try {
    // What the link task writes is not kept: only its rate is measured.
    const linkTask = await InProcessEngine.create(identityTopology(), {
      checkValues: false,
      onOutput: () => undefined,
      backing: (taskId) => RocksBacking.open(join(stateDir, taskId)),
    });
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let from = 0; from < links.length; from += batch) {
      for (const t of links.slice(from, from + batch)) linkTask.pipe(topic.links, t.eventId, t, { timestamp: t.occurredAt, partition: 0 });
      await linkTask.run();
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const rate = links.length / seconds;
    process.stdout.write(
      `link task, RocksDB state: ${Math.round(rate)} link events/s (${seconds.toFixed(2)} s; ${Math.round(links.length / ((used.user + used.system) / 1e6))} per CPU-second)` +
        ` = ${Math.round(rate / share)} touchpoints/s at this share\n`,
    );
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

void main();
