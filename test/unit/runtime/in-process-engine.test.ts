import { InProcessEngine } from '../../../runtime/in-process-engine';
import type { Processor } from '../../../runtime/processor';
import { DLQ_HEADERS } from '../../../runtime/records';
import { jsonSerde, stringSerde } from '../../../runtime/serde/serde';
import { TopologyBuilder } from '../../../runtime/topology';

interface Event {
  kind: 'count' | 'boom' | 'remind' | 'huge';
  at: number;
}

/** Counts events per key and emits the new count; throws on 'boom'; 'remind' sets a timer 10 ms later. */
class CountingProcessor implements Processor<string, Event> {
  prefetch(record: { key: string }): Iterable<[string, string]> {
    return [['counts', record.key]];
  }

  async process(record: { key: string; value: Event; timestamp: number }, ctx: import('../../../runtime/processor').ProcessorContext) {
    const counts = ctx.store<number>('counts');
    const next = ((await counts.get(record.key)) ?? 0) + 1;
    counts.put(record.key, next);
    if (record.value.kind === 'boom') throw new Error(`cannot handle ${record.key}`);
    if (record.value.kind === 'remind') ctx.schedule(record.timestamp + 10, record.key);
    ctx.forward('counts-out', record.key, { key: record.key, count: next, ...(record.value.kind === 'huge' ? { padding: 'x'.repeat(2000) } : {}) });
  }

  async onTimer(timer: { at: number; key: string }, ctx: import('../../../runtime/processor').ProcessorContext) {
    ctx.forward('counts-out', timer.key, { key: timer.key, reminder: timer.at, streamTime: ctx.streamTime });
  }
}

function countingTopology(partitions = 2) {
  return new TopologyBuilder('test-app', partitions)
    .topic({ name: 'events', doc: 'input' })
    .topic({ name: 'counts', doc: 'output' })
    .source('events', { topic: 'events', key: stringSerde, value: jsonSerde<Event>(), eventTime: (v) => v.at })
    .store('counts', { value: jsonSerde<number>() })
    .processor('count', () => new CountingProcessor(), { from: 'events', outputs: ['counts-out'], stores: ['counts'] })
    .sink('counts-out', { topic: 'counts', key: stringSerde, value: jsonSerde(), from: 'count' })
    .build();
}

describe('in-process test driver', () => {
  it('keeps state per key in a store and forwards to a sink', async () => {
    const driver = await InProcessEngine.create(countingTopology());
    for (const [key, at] of [['a', 1], ['b', 2], ['a', 3]] as const) driver.pipe('events', key, { kind: 'count', at }, { timestamp: at });
    await driver.run();
    expect(driver.output('counts').map((o) => o.value)).toEqual(
      expect.arrayContaining([{ key: 'a', count: 1 }, { key: 'b', count: 1 }, { key: 'a', count: 2 }]),
    );
    expect(await driver.storeValue('counts', 'a')).toBe(2);
    expect(driver.output('counts').every((o) => o.timestamp >= 1)).toBe(true);
  });

  it('sends the input of an output record larger than the broker accepts to the dead-letter topic, and goes on', async () => {
    const driver = await InProcessEngine.create(countingTopology(1), { maxRecordBytes: 1000 });
    for (const [kind, at] of [['count', 1], ['huge', 2], ['count', 3]] as const) driver.pipe('events', 'a', { kind, at }, { timestamp: at });
    await driver.run();
    expect(driver.output('counts').map((o) => o.value)).toEqual([{ key: 'a', count: 1 }, { key: 'a', count: 2 }]);
    const [dead] = driver.output('events.dlq');
    expect(dead!.headers[DLQ_HEADERS.kind]).toBe('output-too-large');
    expect(dead!.headers[DLQ_HEADERS.message]).toMatch(/a record for counts would be \d+ bytes, more than the broker accepts \(1000\)/);
    expect(JSON.parse(dead!.raw.value!.toString())).toEqual({ kind: 'huge', at: 2 });
    expect(await driver.storeValue('counts', 'a')).toBe(2);
  });

  it('writes every store change to the changelog of the task partition', async () => {
    const topology = countingTopology(4);
    const driver = await InProcessEngine.create(topology);
    driver.pipe('events', 'k1', { kind: 'count', at: 5 });
    driver.pipe('events', 'k1', { kind: 'count', at: 6 });
    await driver.run();
    const changelog = driver.producedRecords.filter((r) => r.topic === 'test-app-counts-changelog');
    const input = driver.output('counts')[0]!;
    expect(changelog.length).toBeGreaterThan(0);
    expect(changelog.every((r) => r.partition === input.partition)).toBe(true);
    expect(JSON.parse(changelog[changelog.length - 1]!.value!.toString())).toBe(2);
  });

  it('fires event-time timers when stream time passes them, not before', async () => {
    const driver = await InProcessEngine.create(countingTopology(1));
    driver.pipe('events', 'r', { kind: 'remind', at: 100 });
    await driver.run();
    driver.pipe('events', 'other', { kind: 'count', at: 109 });
    await driver.run();
    expect(driver.output('counts').filter((o) => (o.value as { reminder?: number }).reminder)).toHaveLength(0);
    driver.pipe('events', 'other', { kind: 'count', at: 110 });
    await driver.run();
    const reminders = driver.output('counts').filter((o) => (o.value as { reminder?: number }).reminder);
    expect(reminders.map((o) => o.value)).toEqual([{ key: 'r', reminder: 110, streamTime: 110 }]);
    expect(reminders[0]!.timestamp).toBe(110);
  });

  it('fires a timer due exactly at the stream time reached by advanceTime', async () => {
    const driver = await InProcessEngine.create(countingTopology(1));
    driver.pipe('events', 'r', { kind: 'remind', at: 100 });
    await driver.advanceTime(110);
    expect(driver.output('counts').filter((o) => (o.value as { reminder?: number }).reminder)).toHaveLength(1);
  });

  it('routes an undecodable record to the DLQ with its bytes and a reason, and keeps going', async () => {
    const driver = await InProcessEngine.create(countingTopology(1));
    driver.pipeRaw('events', Buffer.from('bad'), Buffer.from('{not json'), { headers: { trace: 't1' } });
    driver.pipe('events', 'good', { kind: 'count', at: 1 });
    await driver.run();
    const dlq = driver.output('events.dlq');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.raw.value!.toString()).toBe('{not json');
    expect(dlq[0]!.raw.key!.toString()).toBe('bad');
    expect(dlq[0]!.headers[DLQ_HEADERS.kind]).toBe('malformed-record');
    expect(dlq[0]!.headers[DLQ_HEADERS.offset]).toBe('0');
    expect(dlq[0]!.headers.trace).toBe('t1');
    expect(driver.output('counts').map((o) => o.value)).toEqual([{ key: 'good', count: 1 }]);
  });

  it('sends a record on which a processor throws to the DLQ and leaves no trace of it in state', async () => {
    const driver = await InProcessEngine.create(countingTopology(1));
    driver.pipe('events', 'x', { kind: 'count', at: 1 });
    driver.pipe('events', 'x', { kind: 'boom', at: 2 });
    driver.pipe('events', 'x', { kind: 'count', at: 3 });
    await driver.run();
    expect(driver.output('counts').map((o) => o.value)).toEqual([{ key: 'x', count: 1 }, { key: 'x', count: 2 }]);
    expect(await driver.storeValue('counts', 'x')).toBe(2);
    const dlq = driver.output('events.dlq');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.headers[DLQ_HEADERS.kind]).toBe('processor-error');
    expect(dlq[0]!.headers[DLQ_HEADERS.processor]).toBe('count');
    expect(dlq[0]!.headers[DLQ_HEADERS.message]).toContain('cannot handle x');
  });

  it('gives byte-identical output for the same input', async () => {
    const runOnce = async () => {
      const driver = await InProcessEngine.create(countingTopology(3));
      for (let i = 0; i < 200; i++) driver.pipe('events', `k${i % 17}`, { kind: i % 5 === 0 ? 'remind' : 'count', at: i * 3 });
      await driver.advanceTime(10_000);
      return Buffer.concat(driver.producedRecords.filter((r) => !r.topic.endsWith('.dlq')).flatMap((r) => [r.key ?? Buffer.alloc(0), r.value ?? Buffer.alloc(0)]));
    };
    expect((await runOnce()).equals(await runOnce())).toBe(true);
  });

  it('refuses a forward to an undeclared output (an untyped processor), naming both', async () => {
    const topology = new TopologyBuilder('bad-forward', 1)
      .topic({ name: 'in', doc: 'input' })
      .source('in', { topic: 'in', key: stringSerde, value: stringSerde })
      .processor('p', () => ({ process: (r, ctx) => ctx.forward('nowhere', r.key, r.value) }), { from: 'in', outputs: [] })
      .build();
    const driver = await InProcessEngine.create(topology);
    driver.pipe('in', 'k', 'v');
    await driver.run();
    expect(driver.output('in.dlq')[0]!.headers[DLQ_HEADERS.message]).toMatch(/'p' forwarded to 'nowhere'/);
  });
});
