import { TopologyTestDriver, type DriverOptions } from '../../../runtime/driver';
import type { Processor, ProcessorContext, StreamRecord } from '../../../runtime/processor';
import { DLQ_HEADERS } from '../../../runtime/records';
import { jsonSerde, stringSerde } from '../../../runtime/serde/serde';
import { TopologyBuilder } from '../../../runtime/topology';

/**
 * Store values and forwarded records are read-only (runtime/processor.ts).
 * The driver deep-freezes them, so a processor that changes one in place,
 * instead of building a new value and putting or forwarding that, fails
 * with a TypeError rather than silently changing state or what a sibling
 * node sees.
 */

interface Tags {
  tags: string[];
}

/**
 * What the input asks the 'tag' node to do with the stored value of its key:
 * add 'x' to it the right way (a new value, put) or wrongly (in place,
 * without put; in place after put); or, for 'forward', hand it to the
 * children in `order`.
 */
interface Input {
  at: number;
  action: 'copy-and-put' | 'change-stored' | 'change-after-put' | 'forward';
  order?: ('first' | 'second')[];
}

class TagProcessor implements Processor<string, Input> {
  async process(record: StreamRecord<string, Input>, ctx: ProcessorContext): Promise<void> {
    const store = ctx.store<Tags>('tags');
    const stored = (await store.get(record.key)) ?? { tags: ['a'] };
    switch (record.value.action) {
      case 'copy-and-put':
        store.put(record.key, { tags: [...stored.tags, 'x'] });
        return;
      case 'change-stored':
        stored.tags.push('x');
        return;
      case 'change-after-put': {
        const next = { tags: [...stored.tags] };
        store.put(record.key, next);
        next.tags.push('x');
        return;
      }
      case 'forward':
        // one value to both children, in the order the input names
        for (const child of record.value.order!) ctx.forward(child, record.key, stored);
    }
  }
}

/** A child that adds its name to the value it got: by copy-on-write, or (`inPlace`) by changing it. */
class AddNameProcessor implements Processor<string, Tags> {
  constructor(
    private readonly name: string,
    private readonly inPlace: boolean,
  ) {}

  process(record: StreamRecord<string, Tags>, ctx: ProcessorContext): void {
    const value = record.value;
    if (this.inPlace) value.tags.push(this.name);
    ctx.forward(`${this.name}-out`, record.key, this.inPlace ? value : { ...value, tags: [...value.tags, this.name] });
  }
}

/** A child that passes on what it got. */
class PassProcessor implements Processor<string, Tags> {
  constructor(private readonly name: string) {}

  process(record: StreamRecord<string, Tags>, ctx: ProcessorContext): void {
    ctx.forward(`${this.name}-out`, record.key, record.value);
  }
}

/** in -> tag (store 'tags') -> first (adds its name: in place with `firstInPlace`) and second (passes on) -> sinks. */
function topology(firstInPlace = false) {
  return new TopologyBuilder('ownership', 1)
    .topic({ name: 'in', doc: 'input' })
    .topic({ name: 'out', doc: 'what the children forward' })
    .source('in', { topic: 'in', key: stringSerde, value: jsonSerde<Input>(), eventTime: (v) => v.at })
    .store('tags', { value: jsonSerde<Tags>() })
    .processor('tag', () => new TagProcessor(), { from: 'in', stores: ['tags'] })
    .processor('first', () => new AddNameProcessor('first', firstInPlace), { from: 'tag' })
    .processor('second', () => new PassProcessor('second'), { from: 'tag' })
    .sink('first-out', { topic: 'out', key: stringSerde, value: jsonSerde(), from: 'first' })
    .sink('second-out', { topic: 'out', key: stringSerde, value: jsonSerde(), from: 'second' })
    .build();
}

async function run(inputs: Input[], options: DriverOptions = {}, firstInPlace = false): Promise<TopologyTestDriver> {
  const driver = await TopologyTestDriver.create(topology(firstInPlace), options);
  for (const input of inputs) driver.pipe('in', 'k', input, { timestamp: input.at });
  await driver.run();
  return driver;
}

function failures(driver: TopologyTestDriver): { processor: string | undefined; message: string | undefined }[] {
  return driver.output('in.dlq').map((d) => ({ processor: d.headers[DLQ_HEADERS.processor], message: d.headers[DLQ_HEADERS.message] }));
}

const NOT_EXTENSIBLE = expect.stringMatching(/TypeError|not extensible|read.only/) as unknown as string;

describe('ownership of store values and forwarded records', () => {
  it('keeps a value changed by copy-on-write and put', async () => {
    const driver = await run([
      { at: 1, action: 'copy-and-put' },
      { at: 2, action: 'copy-and-put' },
    ]);
    expect(failures(driver)).toEqual([]);
    expect(await driver.storeValue('tags', 'k')).toEqual({ tags: ['a', 'x', 'x'] });
  });

  // Fails on the code before freezeValues: the change went through silently and reached the store.
  it('fails a processor that changes a stored value in place, without put, and leaves the store as it was', async () => {
    const driver = await run([
      { at: 1, action: 'copy-and-put' },
      { at: 2, action: 'change-stored' },
    ]);
    expect(failures(driver)).toEqual([{ processor: 'tag', message: NOT_EXTENSIBLE }]);
    expect(await driver.storeValue('tags', 'k')).toEqual({ tags: ['a', 'x'] });
  });

  // Fails on the code before freezeValues, as above.
  it('fails a processor that changes a value after putting it: the store owns it from then on', async () => {
    const driver = await run([{ at: 1, action: 'change-after-put' }]);
    expect(failures(driver)).toEqual([{ processor: 'tag', message: NOT_EXTENSIBLE }]);
    expect(await driver.storeValue('tags', 'k')).toBeUndefined();
  });

  // Fails on the code before freezeValues: 'first' changed the value 'second' got after it.
  it('fails a processor that changes a forwarded value in place, whichever child runs first', async () => {
    for (const order of [['first', 'second'], ['second', 'first']] as const) {
      const driver = await run([{ at: 1, action: 'copy-and-put' }, { at: 2, action: 'forward', order: [...order] }], {}, true);
      expect(failures(driver)).toEqual([{ processor: 'first', message: NOT_EXTENSIBLE }]);
      expect(driver.output('out')).toEqual([]);
      expect(await driver.storeValue('tags', 'k')).toEqual({ tags: ['a', 'x'] });
    }
  });

  it('gives two children of one node the same value whichever runs first', async () => {
    const seen = new Map<string, unknown[]>();
    for (const order of [['first', 'second'], ['second', 'first']] as const) {
      const driver = await run([{ at: 1, action: 'copy-and-put' }, { at: 2, action: 'forward', order: [...order] }]);
      expect(failures(driver)).toEqual([]);
      seen.set(order.join(','), driver.output('out').map((o) => o.value));
      // the stored value the children were handed is as the store had it
      expect(await driver.storeValue('tags', 'k')).toEqual({ tags: ['a', 'x'] });
    }
    expect(seen.get('first,second')).toEqual([{ tags: ['a', 'x', 'first'] }, { tags: ['a', 'x'] }]);
    expect(seen.get('second,first')).toEqual([{ tags: ['a', 'x'] }, { tags: ['a', 'x', 'first'] }]);
  });

  it('does not freeze with freezeValues off (production): the contract alone keeps a change in place out', async () => {
    const driver = await run(
      [
        { at: 1, action: 'copy-and-put' },
        { at: 2, action: 'change-stored' },
      ],
      { freezeValues: false },
    );
    expect(failures(driver)).toEqual([]);
    // the change reached the cached value without a put: what freezing exists to catch
    expect(await driver.storeValue('tags', 'k')).toEqual({ tags: ['a', 'x', 'x'] });
  });
});
