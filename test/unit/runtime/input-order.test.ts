import { compareOrderKeys, formatOrderKey, ORDER_HEADER, OrderedInput, parseOrderKey, type OrderKey } from '../../../runtime/input-order';
import { InProcessEngine } from '../../../runtime/in-process-engine';
import { writerIdleAfter } from '../../../runtime/kafka/idle-tasks';
import { RuntimeMetrics } from '../../../runtime/metrics';
import type { Processor, ProcessorContext } from '../../../runtime/processor';
import type { InputRecord } from '../../../runtime/records';
import { MemoryBacking } from '../../../runtime/state/memory-backing';
import { jsonSerde, stringSerde } from '../../../runtime/serde/serde';
import { TopologyBuilder, type Topology } from '../../../runtime/topology';
import { standaloneTask } from '../../support/stream-task';

const key = (time: number, writer: string, seq: number): OrderKey => ({ time, writer, seq });

describe('order keys', () => {
  it('order by time, then writer, then sequence, and read back from their header text', () => {
    const keys = [key(5, '0_1', 1), key(5, '0_0', 9), key(3, '0_1', 4), key(5, '0_0', 2)];
    expect([...keys].sort(compareOrderKeys).map(formatOrderKey)).toEqual(['3/0_1/4', '5/0_0/2', '5/0_0/9', '5/0_1/1']);
    expect(parseOrderKey('idle/0_3/7')).toEqual(key(Infinity, '0_3', 7));
    expect(parseOrderKey(formatOrderKey(key(-12, '1_0', 0)))).toEqual(key(-12, '1_0', 0));
    for (const bad of ['', '5/0_0', 'x/0_0/1', '5/0_0/1.5', '5/0_0/1/2']) expect(parseOrderKey(bad)).toBeUndefined();
  });
});

describe('OrderedInput', () => {
  const writers = new Set(['0_0', '0_1']);

  it('releases in key order once every writer is past, whatever order the writes arrived in', () => {
    const input = new OrderedInput<string>('mid', writers);
    expect(input.arrive(0n, key(10, '0_0', 1), 'a10')).toBe('held');
    expect(input.arrive(1n, key(20, '0_0', 2), 'a20')).toBe('held');
    expect(input.release()).toEqual([]); // 0_1 has said nothing yet
    expect(input.arrive(2n, key(5, '0_1', 1), 'b5')).toBe('held');
    expect(input.release()).toEqual(['b5']);
    input.advance(key(20, '0_1', 1));
    // a tie at 20: 0_0's record comes first, and 0_1's next record is after its marker
    expect(input.release()).toEqual(['a10', 'a20']);
    expect(input.arrive(3n, key(20, '0_1', 2), 'b20')).toBe('held');
    expect(input.release()).toEqual([]); // 0_0 may still write at 20, and its writer id sorts first
    input.advance(key(25, '0_0', 2));
    expect(input.release()).toEqual(['b20']);
  });

  it('does not wait on an idle writer until its next record, and takes a record below what it released as it comes', () => {
    const input = new OrderedInput<string>('mid', writers);
    input.advance(key(Infinity, '0_1', 0));
    input.arrive(0n, key(10, '0_0', 1), 'a10');
    expect(input.release()).toEqual(['a10']);
    expect(input.arrive(1n, key(7, '0_1', 1), 'b7')).toBe('now');
    expect(input.arrive(2n, key(30, '0_1', 2), 'b30')).toBe('held');
    input.arrive(3n, key(40, '0_0', 2), 'a40');
    expect(input.release()).toEqual(['b30']); // 0_1 is waited on again: a40 waits for it
    expect(input.arrive(4n, key(50, '0_2', 1), 'other writer')).toBe('now');
  });

  it('after a restart, knows what it handled below its last read position and holds again what it had not released', () => {
    const before = new OrderedInput<string>('mid', writers);
    before.arrive(0n, key(10, '0_0', 1), 'a10');
    before.arrive(1n, key(5, '0_1', 1), 'b5');
    before.arrive(2n, key(3, '0_2', 1), 'other writer');
    expect(before.release()).toEqual(['b5']);
    before.advance(key(40, '0_0', 1), 3n);
    before.markCommitted(4n);
    expect(before.firstHeldOffset).toBe(0n);

    const after = new OrderedInput<string>('mid', writers);
    after.load(before.state(4n));
    expect(after.arrive(0n, key(10, '0_0', 1), 'a10')).toBe('held');
    expect(after.arrive(1n, key(5, '0_1', 1), 'b5')).toBe('already-handled');
    expect(after.arrive(2n, key(3, '0_2', 1), 'other writer')).toBe('already-handled');
    after.advance(key(40, '0_0', 1), 3n);
    // 0_0 had said 40 before the restart: reading 'a10' again does not take it back to 10
    expect(after.arrive(4n, key(30, '0_1', 2), 'b30')).toBe('held');
    expect(after.release()).toEqual(['a10', 'b30']);
  });
});

/** Forwards every record's value with the stream time it was processed at. */
class Recorder implements Processor<string, string> {
  process(record: { key: string; value: string }, ctx: ProcessorContext): void {
    ctx.forward('out', record.key, `${record.value}@${ctx.streamTime}`);
  }
}

/** Two writer tasks (a two-partition source) and one reader task that takes their writes in order. */
function pipeline(): Topology {
  return new TopologyBuilder('order-test', 2)
    .topic({ name: 'in', doc: 'input' })
    .topic({ name: 'mid', partitions: 1, doc: 'written by both partitions of in' })
    .topic({ name: 'out', partitions: 1, doc: 'output' })
    .source('in', { topic: 'in', key: stringSerde, value: jsonSerde<{ v: string; at: number }>(), eventTime: (v) => v.at })
    .processor('pass', () => ({ process: (r: { key: string; value: { v: string } }, ctx: ProcessorContext) => ctx.forward('to-mid', r.key, r.value.v) }), { from: 'in', outputs: ['to-mid'] })
    .sink('to-mid', { topic: 'mid', key: stringSerde, value: stringSerde, partition: () => 0, from: 'pass' })
    .source('mid', { topic: 'mid', key: stringSerde, value: stringSerde, orderedAfter: ['pass'] })
    .processor('record', () => new Recorder(), { from: 'mid', outputs: ['out'] })
    .sink('out', { topic: 'out', key: stringSerde, value: stringSerde, from: 'record' })
    .build();
}

describe('a task reading in writer order', () => {
  it('processes the writers’ records in event-time order whichever writer ran first', async () => {
    const outputs = async (first: number) => {
      const driver = await InProcessEngine.create(pipeline());
      const events = [
        [0, 'a', 10],
        [1, 'b', 5],
        [0, 'c', 30],
        [1, 'd', 20],
      ] as const;
      for (const p of [first, 1 - first]) for (const [partition, v, at] of events) if (partition === p) driver.pipe('in', v, { v, at }, { partition, timestamp: at });
      await driver.run();
      return driver.output<string, string>('out').map((o) => o.value);
    };
    expect(await outputs(0)).toEqual(['b@5', 'a@10', 'd@20', 'c@30']);
    expect(await outputs(1)).toEqual(['b@5', 'a@10', 'd@20', 'c@30']);
  });

  it('commits its input only up to the first record it holds, and once restarted processes each record once', async () => {
    const topology = pipeline();
    const reader = topology.subTopologies.find((s) => s.orderedInput)!;
    const backing = new MemoryBacking();
    const metrics = new RuntimeMetrics();
    const open = async (position: bigint) => {
      const task = standaloneTask(reader, { backing, metrics });
      task.setCommittedPosition('mid', position);
      await task.init();
      return task;
    };
    const record = (offset: number, value: string | null, order: string): InputRecord => ({
      topic: 'mid',
      partition: 0,
      offset: String(offset),
      key: value === null ? null : Buffer.from('k'),
      value: value === null ? null : Buffer.from(value),
      timestamp: '0',
      headers: { [ORDER_HEADER]: order },
    });
    const log = [record(0, 'a', '10/0_0/1'), record(1, 'b', '5/0_1/1'), record(2, null, '20/0_0/1'), record(3, null, '30/0_1/1')];
    const values = (commit: { outputs: { value: Buffer | null }[] }) => commit.outputs.map((o) => o.value?.toString());

    const first = await open(0n);
    await first.process(log.slice(0, 3));
    const commit = first.prepareCommit();
    expect(values(commit)).toEqual(['b@5']);
    expect(commit.offsets.get('mid')).toBe(0n); // 'a' is held: a restart must read it again
    await first.committed(commit, new Map());
    expect((await metrics.heldRecords.get()).values).toEqual([{ labels: { task: first.id }, value: 1 }]);

    // a crash: the next owner reads again from offset 0
    const second = await open(0n);
    await second.process(log);
    const next = second.prepareCommit();
    expect(values(next)).toEqual(['a@10']);
    expect(next.offsets.get('mid')).toBe(4n);
  });
});

describe('a writer task', () => {
  it('stamps its records with order keys, sends its progress at each commit, and says once that it is idle', async () => {
    const topology = pipeline();
    const writer = topology.subTopologies.find((s) => s.progressTopics.length > 0)!;
    const metrics = new RuntimeMetrics();
    const task = standaloneTask(writer, { metrics });
    await task.init();
    const input = (offset: number, at: number): InputRecord => ({ topic: 'in', partition: 0, offset: String(offset), key: Buffer.from('k'), value: Buffer.from(JSON.stringify({ v: `v${at}`, at })), timestamp: String(at) });
    const written = (commit: { outputs: { value: Buffer | null; headers: Record<string, string> }[] }) => commit.outputs.map((o) => `${o.value?.toString() ?? 'marker'} ${o.headers[ORDER_HEADER]}`);

    await task.process([input(0, 10), input(1, 30)]);
    let commit = task.prepareCommit();
    expect(written(commit)).toEqual(['v10 10/0_0/1', 'v30 30/0_0/2', 'marker 30/0_0/2']);
    await task.committed(commit, new Map());
    expect(task.hasPendingWork).toBe(false);

    expect(task.declareIdle()).toBe(true);
    expect(task.declareIdle()).toBe(false);
    commit = task.prepareCommit();
    expect(written(commit)).toEqual(['marker idle/0_0/2']);
    await task.committed(commit, new Map());
    expect((await metrics.writersIdle.get()).values).toEqual([{ labels: { task: '0_0' }, value: 1 }]);

    await task.process([input(2, 40)]);
    expect(written(task.prepareCommit())).toEqual(['v40 40/0_0/3', 'marker 40/0_0/3']);
  });
});

describe('when a source task says it is idle', () => {
  it('waits writerIdleMs once caught up, never while behind, and ten times as long before its first batch', () => {
    expect(writerIdleAfter(true, 1_000)).toBe(1_000);
    expect(writerIdleAfter(false, 1_000)).toBe(Infinity);
    expect(writerIdleAfter(undefined, 1_000)).toBe(10_000);
  });
});
