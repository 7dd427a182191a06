/**
 * npm run bench:timers [-- --timers 10000000 --batch 10000]
 *
 * In process, RocksDB state: one task schedules `--timers` event-time timers
 * (one per key, times spread over a day, in random order), committing every
 * `--batch` records as the engine would, then moves stream time forward in
 * steps until every timer has fired. It checks that timers fire in (time,
 * key) order and exactly once, and prints the JS heap (after a full GC) and
 * RSS as the set grows and drains: the heap must stay flat, the timers
 * live on disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { RuntimeMetrics } from '../runtime/metrics';
import type { Processor, ProcessorContext, StreamRecord, Timer } from '../runtime/processor';
import type { InputRecord } from '../runtime/records';
import { RocksBacking } from '../runtime/state/rocks-backing';
import { stringSerde } from '../runtime/serde/serde';
import { StreamTask } from '../runtime/task';
import { TopologyBuilder } from '../runtime/topology';
import { ProgressBar } from '../cli/progress';
import { option } from './support';

const TIMERS = Number(option('timers', '10000000'));
const BATCH = Number(option('batch', '10000'));
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);

/** Timer i fires at a time that is a permutation of i over the day, so schedule order is not firing order. */
const timeOf = (i: number) => START + DAY + ((i * 7_919) % TIMERS) * Math.max(1, Math.floor(DAY / TIMERS));
const keyOf = (i: number) => `k${String(i).padStart(8, '0')}`;

class OrderCheck {
  fired = 0;
  private last: [number, string] = [-Infinity, ''];
  see(timer: Timer): void {
    const [at, key] = this.last;
    if (timer.at < at || (timer.at === at && timer.key <= key)) throw new Error(`timer ${timer.key}@${timer.at} fired after ${key}@${at}`);
    this.last = [timer.at, timer.key];
    this.fired++;
  }
}

class Scheduler implements Processor<string, string> {
  constructor(private readonly check: OrderCheck) {}
  process(record: StreamRecord<string, string>, ctx: ProcessorContext): void {
    ctx.schedule(Number(record.value), record.key);
  }
  onTimer(timer: Timer): void {
    this.check.see(timer);
  }
}

function memory(): { heapMB: number; rssMB: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  return { heapMB: Math.round(usage.heapUsed / 2 ** 20), rssMB: Math.round(usage.rss / 2 ** 20) };
}

async function main(): Promise<void> {
  if (!(globalThis as { gc?: () => void }).gc) console.error('run with node --expose-gc for heap figures after a full GC');
  const check = new OrderCheck();
  const topology = new TopologyBuilder('bench-timers', 1)
    .topic({ name: 'in', doc: 'timers to schedule' })
    .source('in', { topic: 'in', key: stringSerde, value: stringSerde })
    .processor('schedule', () => new Scheduler(check), { from: 'in', outputs: [] })
    .build();
  const dir = mkdtempSync(join(tmpdir(), 'lp-bench-timers-'));
  const task = new StreamTask({
    subTopology: topology.subTopologies[0]!,
    partition: 0,
    backing: await RocksBacking.open(dir),
    log: pino({ level: 'silent' }),
    metrics: new RuntimeMetrics(),
    partitionsOf: () => 1,
    deadLetterTopic: (topic) => `${topic}.dlq`,
    globalStores: new Map(),
    defaultCacheEntries: 10_000,
  });
  await task.init();
  const commit = async () => task.committed(task.prepareCommit(), new Map());
  const samples: string[] = [`| phase | timers pending | heap MB | RSS MB |`, `| --- | ---: | ---: | ---: |`, `| start | 0 | ${memory().heapMB} | ${memory().rssMB} |`];
  const sampleEvery = Math.max(BATCH, Math.floor(TIMERS / 5 / BATCH) * BATCH);

  const scheduling = new ProgressBar({ label: 'scheduling', unit: 'timers' });
  const started = Date.now();
  for (let offset = 0; offset < TIMERS; offset += BATCH) {
    const records: InputRecord[] = [];
    for (let i = offset; i < Math.min(offset + BATCH, TIMERS); i++) {
      records.push({ topic: 'in', partition: 0, offset: String(i), key: Buffer.from(keyOf(i)), value: Buffer.from(String(timeOf(i))), headers: {}, timestamp: String(START) });
    }
    await task.process(records);
    await commit();
    scheduling.update({ count: offset + records.length, total: TIMERS });
    if ((offset + BATCH) % sampleEvery === 0 || offset + BATCH >= TIMERS) {
      const m = memory();
      samples.push(`| scheduled | ${(offset + records.length).toLocaleString('en')} | ${m.heapMB} | ${m.rssMB} |`);
    }
  }
  scheduling.finish({ count: TIMERS, total: TIMERS });
  const scheduleSeconds = (Date.now() - started) / 1000;

  const firing = new ProgressBar({ label: 'firing', unit: 'timers' });
  const fireStarted = Date.now();
  const step = Math.max(1, Math.floor(DAY / Math.ceil(TIMERS / BATCH)));
  let nextSample = TIMERS - sampleEvery;
  for (let time = START + DAY; check.fired < TIMERS && time <= START + 3 * DAY; time += step) {
    await task.advanceStreamTime(time);
    await commit();
    firing.update({ count: check.fired, total: TIMERS });
    if (TIMERS - check.fired <= nextSample) {
      const m = memory();
      samples.push(`| firing | ${(TIMERS - check.fired).toLocaleString('en')} | ${m.heapMB} | ${m.rssMB} |`);
      nextSample -= sampleEvery;
    }
  }
  firing.finish({ count: check.fired, total: TIMERS });
  const fireSeconds = (Date.now() - fireStarted) / 1000;
  await task.close();
  rmSync(dir, { recursive: true, force: true });
  if (check.fired !== TIMERS) throw new Error(`${check.fired} of ${TIMERS} timers fired`);

  console.log(samples.join('\n'));
  console.log(
    `\n${TIMERS.toLocaleString('en')} timers: scheduled in ${scheduleSeconds.toFixed(1)} s (${Math.round(TIMERS / scheduleSeconds).toLocaleString('en')}/s), ` +
      `all fired in (time, key) order in ${fireSeconds.toFixed(1)} s (${Math.round(TIMERS / fireSeconds).toLocaleString('en')}/s)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
