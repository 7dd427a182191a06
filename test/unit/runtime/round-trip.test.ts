import { InProcessEngine } from '../../../runtime/in-process-engine';
import type { Processor, ProcessorContext, StreamRecord } from '../../../runtime/processor';
import { jsonSerde, stringSerde } from '../../../runtime/serde/serde';
import { roundTripDifference } from '../../../runtime/state/round-trip';
import { TopologyBuilder } from '../../../runtime/topology';

describe('roundTripDifference', () => {
  it('finds nothing in a value that reads back the same, ignoring absent-versus-undefined keys', () => {
    expect(roundTripDifference({ a: [1, { b: 'x' }], c: undefined, d: null }, { a: [1, { b: 'x' }], d: null })).toBeUndefined();
    expect(roundTripDifference({ n: NaN, bytes: Buffer.from('ab') }, { n: NaN, bytes: Buffer.from('ab') })).toBeUndefined();
  });

  it('names the path of the first difference', () => {
    expect(roundTripDifference({ pending: [{ at: Infinity }] }, { pending: [{ at: null }] })).toBe('pending[0].at: Infinity reads back as null');
    expect(roundTripDifference({ list: [1, 2] }, { list: [1] })).toBe('list: 2 elements read back as 1');
    expect(roundTripDifference({ when: 'x' }, { when: { at: 1 } })).toBe('when: "x" reads back as an object');
  });
});

/** Keeps, per key, the time it last saw: Infinity before the first record, which JSON cannot hold. */
class SinceProcessor implements Processor<string, { at: number }> {
  async process(record: StreamRecord<string, { at: number }>, ctx: ProcessorContext): Promise<void> {
    const store = ctx.store<{ first: number; last: number }>('since');
    const seen = await store.get(record.key);
    store.put(record.key, { first: seen?.first ?? Infinity, last: record.value.at });
  }
}

it('the test driver fails a commit whose store value would read back differently after a restore', async () => {
  const topology = new TopologyBuilder('round-trip', 1)
    .topic({ name: 'in', doc: 'input' })
    .source('in', { topic: 'in', key: stringSerde, value: jsonSerde<{ at: number }>(), eventTime: (v) => v.at })
    .store('since', { value: jsonSerde<{ first: number; last: number }>() })
    .processor('since', () => new SinceProcessor(), { from: 'in', outputs: [], stores: ['since'] })
    .build();
  const driver = await InProcessEngine.create(topology);
  driver.pipe('in', 'k', { at: 1 }, { timestamp: 1 });
  await expect(driver.run()).rejects.toThrow("store 'since', key 'k': the value does not read back from its bytes as written: first: Infinity reads back as null");
});
