/**
 * tsx bench/replay.ts [--touchpoints 300000] [--people 20000] [--batch 1000] [--part identity|product|all]
 *
 * Replay speed on the in-process path (no broker between processors), on
 * simulated touchpoints generated in memory first (not timed):
 *
 *   identity   the identity sub-topologies alone (ingest, resolve, link):
 *              the topology without the profile task, from memory with
 *              in-memory and RocksDB state, and from an NDJSON and an Avro
 *              file (parsing included)
 *   product    the whole product topology, baseline rules, RocksDB state
 *
 * Runs are cut by count only (--batch, tick off): simulated people are
 * sparse in time, and the benchmark is about the engine's throughput, not
 * the interleaving of partitions. Prints touchpoints per second per case.
 * The target for the identity
 * part is 200k/s (issue 8); see replay/README.md for the measured numbers
 * and where the time goes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Touchpoint } from '../processors/model/touchpoint';
import { ArraySource, AvroFileSource, loadRuleSet, NdjsonSource, runReplay, writeAvroFile, writeNdjsonFile, type ReplaySource } from '../replay';
import type { Topology } from '../runtime/topology';
import { createPopulation, TouchpointGenerator } from '../simulator';
import { buildTopology, topicNames, type TopologyOptions } from '../topology';
import { option } from './support';

const PARTITIONS = 4;

/** The product topology without the profile task (the sub-topology reading touchpoints.resolved). */
export function identityOnly(options: TopologyOptions): Topology {
  const full = buildTopology(options);
  const resolved = topicNames(options.topicPrefix).resolved;
  const subTopologies = full.subTopologies.filter((s) => !s.sources.some((source) => source.options.topic === resolved));
  // the driver finds a sub-topology by its id as an index
  if (subTopologies.some((s, i) => s.id !== i)) throw new Error('the profile task is not the last sub-topology: identityOnly() needs updating');
  return { ...full, subTopologies };
}

function generate(count: number, people: number): Touchpoint[] {
  const generator = new TouchpointGenerator(createPopulation({ seed: 1, people }), { days: 365 });
  const touchpoints: Touchpoint[] = [];
  for (let t = generator.take(); t && touchpoints.length < count; t = generator.take()) touchpoints.push(t);
  return touchpoints;
}

async function measure(label: string, source: ReplaySource, count: number, state: 'memory' | 'rocksdb', topology: (o: TopologyOptions) => Topology, batch: number): Promise<number> {
  const rules = loadRuleSet('baseline', join(__dirname, '..', 'config'));
  const stateDir = await mkdtemp(join(tmpdir(), 'lp-bench-replay-'));
  if (global.gc) global.gc();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const { report } = await runReplay({ source, variants: [{ name: 'baseline', rules }], partitions: PARTITIONS, stateDir, state, batch, tickMs: 0, topology });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  await rm(stateDir, { recursive: true, force: true });
  if (report.input.records !== count) throw new Error(`${label}: replayed ${report.input.records} of ${count} touchpoints`);
  const rate = count / seconds;
  const rss = Math.round(process.memoryUsage().rss / 1e6);
  // CPU time too: on a shared machine the wall clock also measures the neighbours
  process.stdout.write(`${label.padEnd(44)} ${String(Math.round(rate)).padStart(8)} touchpoints/s  (${seconds.toFixed(2)} s; ${Math.round(count / cpuSeconds)} per CPU-second; rss ${rss} MB)\n`);
  return rate;
}

async function main(): Promise<void> {
  const count = Number(option('touchpoints', '300000'));
  const people = Number(option('people', '20000'));
  const batch = Number(option('batch', '1000'));
  const part = option('part', 'identity');
  process.stdout.write(`generating ${count} touchpoints of ${people} people (simulator, seed 1)... `);
  const touchpoints = generate(count, people);
  process.stdout.write(`done\nbatch ${batch}, ${PARTITIONS} partitions, node ${process.version}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'lp-bench-replay-input-'));
  try {
    if (part === 'identity' || part === 'all') {
      await measure('identity, memory input, memory state', new ArraySource(touchpoints, PARTITIONS), count, 'memory', identityOnly, batch);
      await measure('identity, memory input, RocksDB state', new ArraySource(touchpoints, PARTITIONS), count, 'rocksdb', identityOnly, batch);
      const ndjson = join(dir, 'input.ndjson');
      await writeNdjsonFile(ndjson, touchpoints);
      await measure('identity, NDJSON file, RocksDB state', new NdjsonSource(ndjson, PARTITIONS), count, 'rocksdb', identityOnly, batch);
      const avroFile = join(dir, 'input.avro');
      await writeAvroFile(avroFile, touchpoints, undefined, 'null');
      await measure('identity, Avro file, RocksDB state', new AvroFileSource(avroFile, PARTITIONS), count, 'rocksdb', identityOnly, batch);
    }
    if (part === 'product' || part === 'all') {
      await measure('product (all tasks), memory input, RocksDB', new ArraySource(touchpoints, PARTITIONS), count, 'rocksdb', buildTopology, batch);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
