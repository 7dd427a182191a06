import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksBacking } from '../../../runtime/state/rocks-backing';
import { InProcessEngine } from '../../../runtime/in-process-engine';
import type { Processor, ProcessorContext, StreamRecord, Timer } from '../../../runtime/processor';
import type { InputRecord, OutputRecord } from '../../../runtime/records';
import type { StoreWrite, TaskBacking } from '../../../runtime/state/backing';
import { CachedStore } from '../../../runtime/state/cached-store';
import { MemoryBacking } from '../../../runtime/state/memory-backing';
import { TimerService, type DueTimer } from '../../../runtime/state/timer-service';
import { bufferSerde, jsonSerde, stringSerde } from '../../../runtime/serde/serde';
import { StreamTask } from '../../../runtime/task';
import { TASK_STORE, TIMER_INDEX_STORE, TopologyBuilder } from '../../../runtime/topology';
import { standaloneTask } from '../../support/stream-task';

/** A random but reproducible sequence (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A TimerService over in-memory stores, committed and aborted the way a task does it. */
function timerService(headSize: number) {
  const backing = new MemoryBacking();
  const task = new CachedStore<number>(TASK_STORE, backing, jsonSerde<number>(), 0);
  const byTime = new CachedStore<Buffer>(TIMER_INDEX_STORE, backing, bufferSerde, 0);
  const times = {
    get: (id: string) => task.get(id),
    peek: (id: string) => task.peek(id),
    prefetch: (ids: readonly string[]) => task.prefetch(ids),
    put: (id: string, at: number) => task.put(id, at),
    delete: (id: string) => task.delete(id),
  };
  const timers = new TimerService(times, byTime, headSize);
  return {
    timers,
    backing,
    async commit(): Promise<StoreWrite[]> {
      await timers.settle();
      const changelog = task.uncommittedWrites();
      await backing.apply([...changelog, ...byTime.uncommittedWrites()], new Map());
      task.markCommitted();
      byTime.markCommitted();
      timers.committed();
      return changelog;
    },
    abort(): void {
      task.discardUncommitted();
      byTime.discardUncommitted();
      timers.reset(false);
    },
  };
}

describe('event-time timers', () => {
  it('fire in (time, key) order through reschedules, cancels, commits and aborts, with a head far smaller than the set', async () => {
    const next = random(2026);
    const { timers, commit, abort } = timerService(4);
    let committed = { model: new Map<string, number>(), fired: 0, time: 0 };
    let model = new Map<string, number>();
    const fired: DueTimer[] = [];
    const expected: DueTimer[] = [];
    let time = 0;
    for (let step = 0; step < 3_000; step++) {
      const roll = next();
      const key = `k${Math.floor(next() * 60)}`;
      if (roll < 0.5) {
        const at = time + Math.floor(next() * 200);
        timers.schedule('n', key, at);
        model.set(key, at);
      } else if (roll < 0.6) {
        timers.cancel('n', key);
        model.delete(key);
      } else if (roll < 0.8) {
        time += Math.floor(next() * 40);
        for (;;) {
          const due = await timers.popDue(time);
          if (!due) break;
          fired.push(due);
        }
        const dueInModel = [...model].filter(([, at]) => at <= time).sort(([ka, a], [kb, b]) => a - b || (ka < kb ? -1 : 1));
        for (const [key, at] of dueInModel) {
          expected.push({ node: 'n', key, at });
          model.delete(key);
        }
        expect(fired).toEqual(expected);
      } else if (roll < 0.95) {
        await commit();
        committed = { model: new Map(model), fired: expected.length, time };
      } else {
        abort();
        model = new Map(committed.model);
        fired.length = expected.length = committed.fired;
        time = committed.time;
      }
    }
    expect(expected.length).toBeGreaterThan(500);
  });

  it('write one changelog record per real change: none for a reschedule to the same time or a cancel of no timer', async () => {
    const { timers, commit } = timerService(4);
    timers.schedule('n', 'a', 10);
    expect((await commit()).map((w) => w.key)).toEqual(['n\u0000a']);
    timers.schedule('n', 'a', 10);
    timers.cancel('n', 'missing');
    expect(await commit()).toEqual([]);
    timers.schedule('n', 'a', 20);
    timers.schedule('n', 'a', 30);
    expect((await commit()).map((w) => [w.key, JSON.parse(w.value!.toString())])).toEqual([['n\u0000a', 30]]);
    expect(await timers.popDue(25)).toBeUndefined();
    expect(await timers.popDue(30)).toEqual({ node: 'n', key: 'a', at: 30 });
  });

  it('refuse a time that is not a whole number of milliseconds, naming the timer', () => {
    const { timers } = timerService(4);
    expect(() => timers.schedule('view', 'p-1', 1.5)).toThrow('timer view/p-1: time 1.5 is not a whole number of milliseconds');
  });
});

/** Sets a timer 10 ms after each record; throws on value 'boom'; forwards each fired timer. */
class ReminderProcessor implements Processor<string, string> {
  process(record: StreamRecord<string, string>, ctx: ProcessorContext): void {
    if (record.value === 'boom') throw new Error('boom');
    ctx.schedule(record.timestamp + 10, record.key);
  }

  onTimer(timer: Timer, ctx: ProcessorContext): void {
    ctx.forward('out', timer.key, timer.at);
  }
}

function reminderTopology() {
  return new TopologyBuilder('timers-test', 1)
    .topic({ name: 'in', doc: 'input' })
    .topic({ name: 'out', doc: 'fired timers' })
    .source('in', { topic: 'in', key: stringSerde, value: stringSerde })
    .processor('remind', () => new ReminderProcessor(), { from: 'in', outputs: ['out'] })
    .sink('out', { topic: 'out', key: stringSerde, value: jsonSerde<number>(), from: 'remind' })
    .build();
}

/** A memory backing that counts the entries range reads hand out. */
class CountingBacking extends MemoryBacking {
  rangeEntries = 0;
  override async *range(store: string, from: string, to: string): AsyncIterable<[string, Buffer]> {
    for await (const entry of super.range(store, from, to)) {
      this.rangeEntries++;
      yield entry;
    }
  }
}

describe('timers of a task', () => {
  const keys = Array.from({ length: 5_000 }, (_, i) => `key-${String(i).padStart(5, '0')}`);

  it('are not reloaded when a commit aborts: a record that throws costs a read of the head, not of every timer', async () => {
    const backing = new CountingBacking();
    const driver = await InProcessEngine.create(reminderTopology(), { backing: async () => backing });
    for (const key of keys) driver.pipe('in', key, 'x', { timestamp: 1 });
    await driver.run();
    backing.rangeEntries = 0;
    driver.pipe('in', 'key-x', 'boom', { timestamp: 2 });
    await driver.run();
    expect(driver.output('in.dlq')).toHaveLength(1);
    expect(backing.rangeEntries).toBeLessThan(2_000);
    await driver.advanceTime(11);
    expect(driver.output('out').map((o) => o.key)).toEqual(keys);
  });

  it('are restored from the task changelog into an empty state, and indexed when older state has no index', async () => {
    const subTopology = reminderTopology().subTopologies[0]!;
    const open = (backing: TaskBacking) => standaloneTask(subTopology, { backing: backing, cacheEntries: 100 });
    const input: InputRecord[] = keys.slice(0, 50).map((key, i) => ({
      topic: 'in',
      partition: 0,
      offset: String(i),
      key: Buffer.from(key),
      value: Buffer.from('x'),
      headers: {},
      timestamp: String((i * 3) % 7),
    }));
    const first = open(new MemoryBacking());
    await first.init();
    await first.process(input);
    const commit = first.prepareCommit();
    await first.committed(commit, new Map());

    const firedBy = async (task: StreamTask) => {
      await task.init();
      await task.advanceStreamTime(1_000);
      return task.prepareCommit().outputs.map((o) => [o.key!.toString(), Number(o.value!.toString())]);
    };
    const expected = input
      .map((r) => [r.key!.toString(), Number(r.timestamp) + 10] as const)
      .sort(([ka, a], [kb, b]) => a - b || (ka < kb ? -1 : 1));

    const restored = open(new MemoryBacking());
    const changelog = subTopology.stores.find((s) => s.name === TASK_STORE)!.changelog!;
    await restored.restore(changelog, commit.changelog, BigInt(commit.changelog.length));
    expect(await firedBy(restored)).toEqual(expected);

    const older = new MemoryBacking();
    await older.apply(
      commit.changelog.map((r) => ({ store: TASK_STORE, key: r.key!.toString(), value: r.value })),
      new Map(),
    );
    expect(await firedBy(open(older))).toEqual(expected);
  });
});

/** Schedules, moves or cancels a key's timer as each record says; a fired timer is forwarded and sometimes set again. */
class ChurnProcessor implements Processor<string, string> {
  process(record: StreamRecord<string, string>, ctx: ProcessorContext): void {
    const [op, delta] = record.value.split(':');
    if (op === 'schedule') ctx.schedule(record.timestamp + Number(delta), record.key);
    if (op === 'cancel') ctx.cancel(record.key);
  }

  onTimer(timer: Timer, ctx: ProcessorContext): void {
    ctx.forward('out', timer.key, timer.at);
    if (timer.at % 3 === 0) ctx.schedule(timer.at + 17, timer.key);
  }
}

describe('timers of a task under failures', () => {
  const topology = new TopologyBuilder('churn', 1)
    .topic({ name: 'in', doc: 'input' })
    .topic({ name: 'out', doc: 'fired timers' })
    .source('in', { topic: 'in', key: stringSerde, value: stringSerde })
    .processor('p', () => new ChurnProcessor(), { from: 'in', outputs: ['out'] })
    .sink('out', { topic: 'out', key: stringSerde, value: jsonSerde<number>(), from: 'p' })
    .build();
  const sub = topology.subTopologies[0]!;
  const open = (backing: TaskBacking) => standaloneTask(sub, { backing: backing, cacheEntries: 8 });

  function input(seed: number): InputRecord[] {
    const next = random(seed);
    let time = 1_000;
    return Array.from({ length: 3_000 }, (_, i) => {
      time += Math.floor(next() * 12);
      const roll = next();
      const value = roll < 0.6 ? `schedule:${Math.floor(next() * 150)}` : roll < 0.8 ? 'cancel' : 'noop';
      return { topic: 'in', partition: 0, offset: String(i), key: Buffer.from(`k${Math.floor(next() * 40)}`), value: Buffer.from(value), headers: {}, timestamp: String(time) };
    });
  }

  /** What the task commits, batch after batch, with the faults `fault` picks (in-memory "Kafka": changelog and outputs). */
  async function run(records: InputRecord[], seed: number, fault: (roll: number) => 'none' | 'abort' | 'kill' | 'wipe' | 'crash-after-commit') {
    const next = random(seed);
    const changelogs = new Map<string, OutputRecord[]>(sub.stores.filter((s) => s.changelog).map((s) => [s.changelog!, []]));
    const outputs: string[] = [];
    let disk: TaskBacking = await RocksBacking.open(mkdtempSync(join(tmpdir(), 'lp-timers-')));
    const reopen = async () => {
      const task = open(disk);
      const checkpoint = await disk.checkpoint();
      for (const [topic, records] of changelogs) {
        const from = Number(checkpoint.get(topic) ?? 0n);
        if (records.length > from) await task.restore(topic, records.slice(from), BigInt(records.length));
      }
      await task.init();
      return task;
    };
    let task = await reopen();
    let position = 0;
    while (position < records.length) {
      const batch = records.slice(position, position + 1 + Math.floor(next() * 40));
      await task.process(batch);
      const what = fault(next());
      if (what === 'abort') {
        await task.aborted();
        continue;
      }
      if (what === 'kill' || what === 'wipe') {
        if (what === 'wipe') disk = await RocksBacking.open(mkdtempSync(join(tmpdir(), 'lp-timers-')));
        task = await reopen();
        continue;
      }
      const pending = task.prepareCommit();
      for (const o of pending.outputs) outputs.push(`${o.key!.toString()}@${o.value!.toString()}`);
      for (const c of pending.changelog) changelogs.get(c.topic)!.push(c);
      position += batch.length;
      if (what === 'crash-after-commit') {
        task = await reopen();
        continue;
      }
      await task.committed(pending, new Map([...changelogs].map(([topic, list]) => [topic, BigInt(list.length)])));
    }
    await task.advanceStreamTime(Number.MAX_SAFE_INTEGER / 4);
    for (const o of task.prepareCommit().outputs) outputs.push(`${o.key!.toString()}@${o.value!.toString()}`);
    return outputs;
  }

  it.each([1, 2, 3, 4, 5])('fire exactly as a run without failures does (seed %i): aborts, kills, empty state, a crash between Kafka and RocksDB', async (seed) => {
    const records = input(seed);
    const clean = await run(records, seed, () => 'none');
    expect(clean.length).toBeGreaterThan(1_000);
    const faulty = await run(records, seed, (roll) => (roll < 0.1 ? 'abort' : roll < 0.15 ? 'kill' : roll < 0.17 ? 'wipe' : roll < 0.22 ? 'crash-after-commit' : 'none'));
    expect(faulty).toEqual(clean);
  });
});
