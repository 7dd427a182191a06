import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor';
import { stringSerde, type Serde } from '../../runtime/serde/serde';
import { TopologyBuilder, type Topology } from '../../runtime/topology';

/** Count as 8 bytes: cheap to encode, and what a serious counter store would hold. */
export const countSerde: Serde<number> = {
  name: 'count',
  serialize: (_topic, value) => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(value);
    return b;
  },
  deserialize: (_topic, data) => data.readDoubleBE(0),
};

/** Counts records per key and emits `<key>` -> `<count>`; a value starting with "poison" makes it throw. */
export class CountingProcessor implements Processor<string, string> {
  prefetch(record: StreamRecord<string, string>): Iterable<[string, string]> {
    return [['counts', record.key]];
  }

  async process(record: StreamRecord<string, string>, ctx: ProcessorContext): Promise<void> {
    if (record.value.startsWith('poison')) throw new Error(`refusing ${record.value}`);
    const counts = ctx.store<number>('counts');
    const next = ((await counts.get(record.key)) ?? 0) + 1;
    counts.put(record.key, next);
    ctx.forward('counts-out', record.key, String(next));
  }
}

export function countingTopology(appId: string, input: string, output: string, partitions: number): Topology {
  return new TopologyBuilder(appId, partitions)
    .topic({ name: input, doc: 'records to count' })
    .topic({ name: output, doc: 'running count per key' })
    .source('input', { topic: input, key: stringSerde, value: stringSerde })
    .store('counts', { value: countSerde })
    .processor('count', () => new CountingProcessor(), { from: 'input', outputs: ['counts-out'], stores: ['counts'] })
    .sink('counts-out', { topic: output, key: stringSerde, value: stringSerde, from: 'count' })
    .build();
}
