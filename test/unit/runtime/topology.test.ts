import { stringSerde } from '../../../runtime/serde/serde';
import { TopologyBuilder } from '../../../runtime/topology';

const noop = () => ({ process: () => undefined });

describe('topology validation', () => {
  it('names an undeclared source topic', () => {
    const builder = new TopologyBuilder('app', 2).source('s', { topic: 'missing', key: stringSerde, value: stringSerde });
    expect(() => builder.build()).toThrow("source 's' uses topic 'missing', which is not declared with topic()");
  });

  it('names an unknown parent', () => {
    const builder = new TopologyBuilder('app', 2)
      .topic({ name: 't', doc: '' })
      .source('s', { topic: 't', key: stringSerde, value: stringSerde })
      .processor('p', noop, { from: 'nope' });
    expect(() => builder.build()).toThrow("processor 'p' reads from 'nope', which is not declared");
  });

  it('names an undeclared store', () => {
    const builder = new TopologyBuilder('app', 2)
      .topic({ name: 't', doc: '' })
      .source('s', { topic: 't', key: stringSerde, value: stringSerde })
      .processor('p', noop, { from: 's', stores: ['ghost'] });
    expect(() => builder.build()).toThrow("processor 'p' uses store 'ghost', which is not declared");
  });

  it('names a sink whose topic is not declared', () => {
    const builder = new TopologyBuilder('app', 2)
      .topic({ name: 't', doc: '' })
      .source('s', { topic: 't', key: stringSerde, value: stringSerde })
      .processor('p', noop, { from: 's' })
      .sink('out', { topic: 'nowhere', key: stringSerde, value: stringSerde, from: 'p' });
    expect(() => builder.build()).toThrow("sink 'out' uses topic 'nowhere'");
  });

  it('refuses co-partitioned inputs with different partition counts, naming both topics', () => {
    const builder = new TopologyBuilder('app', 4)
      .topic({ name: 'a', partitions: 4, doc: '' })
      .topic({ name: 'b', partitions: 6, doc: '' })
      .source('sa', { topic: 'a', key: stringSerde, value: stringSerde })
      .source('sb', { topic: 'b', key: stringSerde, value: stringSerde })
      .processor('join', noop, { from: ['sa', 'sb'] });
    expect(() => builder.build()).toThrow(/'sa' \(a, 4 partitions\) and 'sb' \(b, 6 partitions\)/);
  });

  it('refuses a store shared by two sub-topologies', () => {
    const builder = new TopologyBuilder('app', 2)
      .topic({ name: 'a', doc: '' })
      .topic({ name: 'b', doc: '' })
      .store('shared', { value: stringSerde })
      .source('sa', { topic: 'a', key: stringSerde, value: stringSerde })
      .source('sb', { topic: 'b', key: stringSerde, value: stringSerde })
      .processor('pa', noop, { from: 'sa', stores: ['shared'] })
      .processor('pb', noop, { from: 'sb', stores: ['shared'] });
    expect(() => builder.build()).toThrow(/store 'shared' is used by processors of two sub-topologies/);
  });

  it('builds a global table from another store\'s changelog by name, and names a store that has none', () => {
    const withStore = (changelog: boolean) =>
      new TopologyBuilder('app', 2)
        .topic({ name: 't', doc: '' })
        .source('s', { topic: 't', key: stringSerde, value: stringSerde })
        .store('ids', { value: stringSerde, changelog })
        .processor('p', noop, { from: 's', stores: ['ids'] })
        .globalStore('graph', { fromStore: 'ids', value: stringSerde })
        .processor('q', noop, { from: 's', globalStores: ['graph'] });
    expect(withStore(true).build().globalStores.map((g) => [g.name, g.options.topic])).toEqual([['graph', 'app-ids-changelog']]);
    expect(() => withStore(false).build()).toThrow("global store 'graph' reads the changelog of store 'ids', which has none");
  });

  it('cuts sub-topologies where sources differ and declares changelogs and DLQs', () => {
    const topology = new TopologyBuilder('app', 3)
      .topic({ name: 'a', doc: '' })
      .topic({ name: 'b', doc: '' })
      .store('st', { value: stringSerde })
      .source('sa', { topic: 'a', key: stringSerde, value: stringSerde })
      .processor('pa', noop, { from: 'sa', stores: ['st'] })
      .sink('to-b', { topic: 'b', key: stringSerde, value: stringSerde, from: 'pa' })
      .source('sb', { topic: 'b', key: stringSerde, value: stringSerde })
      .processor('pb', noop, { from: 'sb' })
      .build();
    expect(topology.subTopologies).toHaveLength(2);
    const names = topology.topics.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['app-st-changelog', 'a.dlq', 'b.dlq', 'app-a-task-changelog']));
    expect(topology.topics.find((t) => t.name === 'app-st-changelog')).toMatchObject({ compacted: true, partitions: 3 });
    expect(topology.describe()).toContain('processor pa [stores: st] -> to-b');
  });
});
