/**
 * tsx bench/scale.ts [--people 1000000] [--per-person 2]
 *
 * The product with a large population in state, in process (replay's
 * engine, RocksDB state, baseline rules): synthetic people, each with
 * `--per-person` web page views a day apart (one anonymous id each, so one
 * profile each), generated as the replay reads them (the input is not held
 * in memory). Prints the rate, the peak RSS, the RocksDB bytes per profile
 * (the state directory on disk after the run, over the people) and the rate
 * at which one profile task's compacted changelog restores into a cold
 * RocksDB (the engine's restoration without the Kafka fetch).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { touchpoint, type Touchpoint } from '../processors/model/touchpoint';
import { loadRuleSet, runReplay, type ReplayRecord, type ReplaySource } from '../replay';
import { partitionForKey } from '../runtime/kafka/partitioner';
import { PROFILES_STORE } from '../processors/stores';
import { RocksBacking } from '../runtime/state/rocks-backing';
import type { StoreWrite } from '../runtime/state/backing';
import { ProgressBar } from '../cli/progress';
import { option } from './support';

const PARTITIONS = 4;
const CHUNK = 1000;
const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

/** People i = 0..n-1, each seen `perPerson` times a day apart; within a day, one person after another. */
class SyntheticPopulation implements ReplaySource {
  readonly partitions = undefined;
  readonly description = { kind: 'memory' as const, name: 'synthetic population' };
  private done = 0;

  constructor(
    private readonly people: number,
    private readonly perPerson: number,
  ) {}

  get total(): number {
    return this.people * this.perPerson;
  }

  async open(): Promise<void> {}

  async *chunks(stopped: () => boolean): AsyncIterable<ReplayRecord[]> {
    const step = Math.max(1, Math.floor(DAY / this.people));
    while (this.done < this.total && !stopped()) {
      const chunk: ReplayRecord[] = [];
      for (; chunk.length < CHUNK && this.done < this.total; this.done++) {
        const day = Math.floor(this.done / this.people);
        const person = this.done % this.people;
        const t: Touchpoint = touchpoint({
          eventId: `s-${this.done}`,
          occurredAt: T0 + day * DAY + person * step,
          channel: 'web',
          eventType: 'page_view',
          identifiers: [{ type: 'anonymous_id', value: `visitor-${person}` }],
          page: { path: `/products/${person % 40}`, category: person % 3 === 0 ? 'mortgages' : 'cards', product: null, depth: 1 + (day % 5), scrollPercent: 60, dwellMs: 20_000 },
        });
        const key = Buffer.from(t.identifiers[0]!.value);
        chunk.push({ partition: partitionForKey(key, PARTITIONS), key, touchpoint: t, value: null, timestamp: t.occurredAt });
      }
      yield chunk;
    }
  }

  progress(): { fraction: number; total: number | null } {
    return { fraction: this.done / this.total, total: this.total };
  }

  async close(): Promise<void> {}
}

async function main(): Promise<void> {
  const people = Number(option('people', '1000000'));
  const perPerson = Number(option('per-person', '2'));
  const stateDir = await mkdtemp(join(tmpdir(), 'lp-bench-scale-'));
  const source = new SyntheticPopulation(people, perPerson);
  let peakRss = 0;
  const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 500);
  const total = source.total;
  const progress = new ProgressBar({ label: `${people} people x ${perPerson} touchpoints`, unit: 'touchpoints' });
  const started = performance.now();
  try {
    const { report } = await runReplay({
      source,
      variants: [{ name: 'baseline', rules: loadRuleSet('baseline', join(__dirname, '..', 'config')) }],
      partitions: PARTITIONS,
      stateDir,
      state: 'rocksdb',
      keepState: true,
      batch: CHUNK,
      tickMs: 0,
      onProgress: (p) => progress.update({ count: p.records, total }),
    });
    const seconds = (performance.now() - started) / 1000;
    progress.finish({ count: total, total });
    clearInterval(sample);
    const bytes = Number(execFileSync('du', ['-sb', stateDir], { encoding: 'utf8' }).split('\t')[0]);
    console.log(`${report.input.records} touchpoints in ${seconds.toFixed(1)} s: ${Math.round(report.input.records / seconds)} touchpoints/s`);
    console.log(`peak RSS ${Math.round(peakRss / 1e6)} MB; state on disk ${(bytes / 1e6).toFixed(0)} MB = ${Math.round(bytes / people)} bytes per profile (all stores, all tasks, RocksDB files as they are)`);
    await restoreSpeed(stateDir);
  } finally {
    clearInterval(sample);
    await rm(stateDir, { recursive: true, force: true });
  }
}

/**
 * What restoring one profile task from its compacted changelog writes: the
 * latest entry of every profile key of partition 0 (read from the kept
 * state), applied to a cold RocksDB in batches of the restore's size.
 */
async function restoreSpeed(stateDir: string): Promise<void> {
  const variantDir = join(stateDir, 'baseline');
  let entries: StoreWrite[] = [];
  for (const task of await readdir(variantDir)) {
    if (!task.endsWith('_0')) continue;
    const backing = await RocksBacking.open(join(variantDir, task));
    for await (const [key, value] of backing.range(PROFILES_STORE, '', '\uffff')) entries.push({ store: PROFILES_STORE, key, value });
    await backing.close();
    if (entries.length > 0) break;
    entries = [];
  }
  const cold = await RocksBacking.open(join(stateDir, 'restore-cold'));
  const started = performance.now();
  const BATCH = 10_000;
  for (let i = 0; i < entries.length; i += BATCH) await cold.apply(entries.slice(i, i + BATCH), new Map([[`${PROFILES_STORE}-changelog`, BigInt(i + BATCH)]]));
  const seconds = (performance.now() - started) / 1000;
  await cold.close();
  console.log(`restore of one profile task (partition 0): ${entries.length} changelog records in ${seconds.toFixed(2)} s = ${Math.round(entries.length / seconds)} records/s into a cold RocksDB (without the Kafka fetch)`);
}

void main();
