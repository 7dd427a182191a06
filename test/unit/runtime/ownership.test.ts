import { InProcessEngine } from '../../../runtime/in-process-engine';
import type { Processor, ProcessorContext, StreamRecord } from '../../../runtime/processor';
import { DLQ_HEADERS } from '../../../runtime/records';
import { jsonSerde, stringSerde } from '../../../runtime/serde/serde';
import { CachedStore } from '../../../runtime/state/cached-store';
import { MemoryBacking } from '../../../runtime/state/memory-backing';
import { TopologyBuilder } from '../../../runtime/topology';

/**
 * Who may change what: a store value is changed only after `editable` took
 * it (then the change is an uncommitted write, dropped if the record
 * fails); a forwarded value belongs to the node that forwarded it. The test
 * driver freezes both, so a processor that breaks the rules fails its test.
 */

interface Event {
  /** count: take the tally and add one; sneak: add one to the value `get` returned; boom: a child fails; scribble: a child writes on the record it was given. */
  kind: 'count' | 'sneak' | 'boom' | 'scribble';
  at: number;
}

interface Tally {
  count: number;
}

class TallyProcessor implements Processor<string, Event> {
  async process(record: StreamRecord<string, Event>, ctx: ProcessorContext): Promise<void> {
    const tallies = ctx.store<Tally>('tallies');
    const stored = await tallies.get(record.key);
    if (record.value.kind === 'sneak' && stored) stored.count++;
    else if (stored) tallies.editable(record.key, stored).count++;
    else tallies.put(record.key, { count: 1 });
    ctx.forward('check', record.key, record.value);
    ctx.forward('out', record.key, { kind: record.value.kind });
  }
}

class CheckProcessor implements Processor<string, Event> {
  process(record: StreamRecord<string, Event>): void {
    if (record.value.kind === 'boom') throw new Error('the check failed');
    if (record.value.kind === 'scribble') (record.value as Event & { checked?: boolean }).checked = true;
  }
}

function tallyTopology() {
  return new TopologyBuilder('ownership', 1)
    .topic({ name: 'events', doc: 'input' })
    .topic({ name: 'out', doc: 'output' })
    .source('events', { topic: 'events', key: stringSerde, value: jsonSerde<Event>(), eventTime: (v) => v.at })
    .store('tallies', { value: jsonSerde<Tally>() })
    .processor('tally', () => new TallyProcessor(), { from: 'events', outputs: ['check', 'out'], stores: ['tallies'] })
    .processor('check', () => new CheckProcessor(), { from: 'tally', outputs: [] })
    .sink('out', { topic: 'out', key: stringSerde, value: jsonSerde(), from: 'tally' })
    .build();
}

async function run(kinds: Event['kind'][], options: { checkValues?: boolean } = {}) {
  const driver = await InProcessEngine.create(tallyTopology(), options);
  kinds.forEach((kind, i) => driver.pipe('events', 'k', { kind, at: i + 1 }, { timestamp: i + 1 }));
  // One commit after the first record, so the later ones read a committed (frozen) value.
  await driver.run();
  const reasons = driver.output('events.dlq').map((o) => o.headers[DLQ_HEADERS.message]);
  return { driver, reasons, tally: await driver.storeValue<Tally>('tallies', 'k') };
}

describe('value ownership', () => {
  it('fails a record whose processor changes a value it only read, and leaves the committed value as it was', async () => {
    const { driver } = await run(['count']);
    driver.pipe('events', 'k', { kind: 'sneak', at: 2 }, { timestamp: 2 });
    driver.pipe('events', 'k', { kind: 'count', at: 3 }, { timestamp: 3 });
    await driver.run();
    const reasons = driver.output('events.dlq').map((o) => o.headers[DLQ_HEADERS.message]);
    expect(reasons).toEqual([expect.stringMatching(/processor 'tally' failed: Cannot assign to read only property 'count'/)]);
    expect(await driver.storeValue<Tally>('tallies', 'k')).toEqual({ count: 2 });
  });

  it.each([
    ['the test driver', true],
    ['production (no freezing)', false],
  ])('drops a change made through editable when a later node fails the record (%s)', async (_, checkValues) => {
    const { driver } = await run(['count'], { checkValues });
    for (const [kind, at] of [['count', 2], ['boom', 3], ['count', 4]] as const) driver.pipe('events', 'k', { kind, at }, { timestamp: at });
    await driver.run();
    expect(driver.output('events.dlq')).toHaveLength(1);
    expect(await driver.storeValue<Tally>('tallies', 'k')).toEqual({ count: 3 });
    expect(driver.output('out').map((o) => (o.value as { kind: string }).kind)).toEqual(['count', 'count', 'count']);
  });

  it('fails a record whose child writes on the value its parent forwarded', async () => {
    const { reasons, tally } = await run(['count', 'scribble', 'count']);
    expect(reasons).toEqual([expect.stringMatching(/processor 'check' failed: Cannot add property checked, object is not extensible/)]);
    expect(tally).toEqual({ count: 2 });
  });
});

describe('CachedStore.editable', () => {
  it('hands out an unfrozen copy of a frozen committed value; the committed value changes only at commit', async () => {
    const backing = new MemoryBacking();
    const store = new CachedStore<Tally>('s', backing, jsonSerde<Tally>(), 10, true);
    store.put('k', { count: 1 });
    await backing.apply(store.uncommittedWrites(), new Map());
    store.markCommitted();
    const committed = (await store.get('k'))!;
    expect(Object.isFrozen(committed)).toBe(true);
    const owned = store.editable('k', committed);
    owned.count = 5;
    expect(store.editable('k', owned)).toBe(owned);
    expect(committed.count).toBe(1);
    expect(await store.committed('k')).toEqual({ count: 1 });
    expect(await store.get('k')).toEqual({ count: 5 });
    store.discardUncommitted();
    expect(await store.get('k')).toEqual({ count: 1 });
  });

  it('without freezing takes the value itself, as an uncommitted write', async () => {
    const backing = new MemoryBacking();
    const store = new CachedStore<Tally>('s', backing, jsonSerde<Tally>(), 10);
    store.put('k', { count: 1 });
    await backing.apply(store.uncommittedWrites(), new Map());
    store.markCommitted();
    const value = (await store.get('k'))!;
    expect(store.editable('k', value)).toBe(value);
    expect(store.uncommittedWrites()).toEqual([{ store: 's', key: 'k', value: Buffer.from('{"count":1}') }]);
  });
});
