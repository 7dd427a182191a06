import { stringSerde } from '../../../runtime/serde/serde';
import { outputs, type Processor, type ProcessorContext, type StreamRecord } from '../../../runtime/processor';
import { formatTopology, TopologyBuilder } from '../../../runtime/topology';
import { InMemoryRegistry } from '../../../runtime/serde/registry';
import { buildTopology } from '../../../topology';
import { productConfig } from '../../support/product';

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
      .processor('p', noop, { from: 'nope', outputs: [] });
    expect(() => builder.build()).toThrow("processor 'p' reads from 'nope', which is not declared");
  });

  it('names an undeclared store', () => {
    const builder = new TopologyBuilder('app', 2)
      .topic({ name: 't', doc: '' })
      .source('s', { topic: 't', key: stringSerde, value: stringSerde })
      .processor('p', noop, { from: 's', outputs: [], stores: ['ghost'] });
    expect(() => builder.build()).toThrow("processor 'p' uses store 'ghost', which is not declared");
  });

  it('names a sink whose topic is not declared', () => {
    const builder = new TopologyBuilder('app', 2)
      .topic({ name: 't', doc: '' })
      .source('s', { topic: 't', key: stringSerde, value: stringSerde })
      .processor('p', noop, { from: 's', outputs: ['out'] })
      .sink('out', { topic: 'nowhere', key: stringSerde, value: stringSerde, from: 'p' });
    expect(() => builder.build()).toThrow("sink 'out' uses topic 'nowhere'");
  });

  it('refuses co-partitioned inputs with different partition counts, naming both topics', () => {
    const builder = new TopologyBuilder('app', 4)
      .topic({ name: 'a', partitions: 4, doc: '' })
      .topic({ name: 'b', partitions: 6, doc: '' })
      .source('sa', { topic: 'a', key: stringSerde, value: stringSerde })
      .source('sb', { topic: 'b', key: stringSerde, value: stringSerde })
      .processor('join', noop, { from: ['sa', 'sb'], outputs: [] });
    expect(() => builder.build()).toThrow(/'sa' \(a, 4 partitions\) and 'sb' \(b, 6 partitions\)/);
  });

  it('refuses a store shared by two sub-topologies', () => {
    const builder = new TopologyBuilder('app', 2)
      .topic({ name: 'a', doc: '' })
      .topic({ name: 'b', doc: '' })
      .store('shared', { value: stringSerde })
      .source('sa', { topic: 'a', key: stringSerde, value: stringSerde })
      .source('sb', { topic: 'b', key: stringSerde, value: stringSerde })
      .processor('pa', noop, { from: 'sa', outputs: [], stores: ['shared'] })
      .processor('pb', noop, { from: 'sb', outputs: [], stores: ['shared'] });
    expect(() => builder.build()).toThrow(/store 'shared' is used by processors of two sub-topologies/);
  });

  it('builds a global table from another store\'s changelog by name, and names a store that has none', () => {
    const withStore = (changelog: boolean) =>
      new TopologyBuilder('app', 2)
        .topic({ name: 't', doc: '' })
        .source('s', { topic: 't', key: stringSerde, value: stringSerde })
        .store('ids', { value: stringSerde, changelog })
        .processor('p', noop, { from: 's', outputs: [], stores: ['ids'] })
        .globalStore('graph', { fromStore: 'ids', value: stringSerde })
        .processor('q', noop, { from: 's', outputs: [], globalStores: ['graph'] });
    expect(withStore(true).build().globalStores.map((g) => [g.name, g.options.topic])).toEqual([['graph', 'app-ids-changelog']]);
    expect(() => withStore(false).build()).toThrow("global store 'graph' reads the changelog of store 'ids', which has none");
  });

  it('cuts sub-topologies where sources differ and declares changelogs and DLQs', () => {
    const topology = new TopologyBuilder('app', 3)
      .topic({ name: 'a', doc: '' })
      .topic({ name: 'b', doc: '' })
      .store('st', { value: stringSerde })
      .source('sa', { topic: 'a', key: stringSerde, value: stringSerde })
      .processor('pa', noop, { from: 'sa', outputs: ['to-b'], stores: ['st'] })
      .sink('to-b', { topic: 'b', key: stringSerde, value: stringSerde, from: 'pa' })
      .source('sb', { topic: 'b', key: stringSerde, value: stringSerde })
      .processor('pb', noop, { from: 'sb', outputs: [] })
      .build();
    expect(topology.subTopologies).toHaveLength(2);
    const names = topology.topics.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['app-st-changelog', 'a.dlq', 'b.dlq', 'app-a-task-changelog']));
    expect(topology.topics.find((t) => t.name === 'app-st-changelog')).toMatchObject({ compacted: true, partitions: 3 });
    expect(formatTopology(topology.describe())).toContain('processor pa [stores: st] -> to-b');
  });
});

describe('sources in writer order', () => {
  /** a (two tasks) and b (one task) write to mid; r reads mid, ordered after `after`; r also writes back to `back`. */
  const build = (after: string[], back = 'out') =>
    new TopologyBuilder('app', 2)
      .topic({ name: 'in', doc: '' })
      .topic({ name: 'other', partitions: 1, doc: '' })
      .topic({ name: 'mid', doc: '' })
      .topic({ name: 'out', doc: '' })
      .source('in', { topic: 'in', key: stringSerde, value: stringSerde })
      .processor('a', noop, { from: 'in', outputs: ['a-to-mid'] })
      .sink('a-to-mid', { topic: 'mid', key: stringSerde, value: stringSerde, from: 'a' })
      .source('other', { topic: 'other', key: stringSerde, value: stringSerde, orderedAfter: back === 'other' ? ['r'] : undefined })
      .processor('b', noop, { from: 'other', outputs: ['b-to-mid'] })
      .sink('b-to-mid', { topic: 'mid', key: stringSerde, value: stringSerde, from: 'b' })
      .source('mid', { topic: 'mid', key: stringSerde, value: stringSerde, orderedAfter: after })
      .processor('r', noop, { from: 'mid', outputs: ['r-out'] })
      .sink('r-out', { topic: back, key: stringSerde, value: stringSerde, from: 'r' })
      .build();

  it('resolves the writers to their task ids, and tells each writer what it keys and whom it owes progress', () => {
    const topology = build(['a', 'b']);
    const [a, b, r] = topology.subTopologies;
    expect(r!.orderedInput).toEqual({ topic: 'mid', writers: ['0_0', '0_1', '1_0'], after: [0, 1] });
    expect([a!.orderKeyTopics, a!.progressTopics, b!.progressTopics, r!.progressTopics]).toEqual([['mid'], ['mid'], ['mid'], []]);
    expect(formatTopology(topology.describe())).toContain('source mid <- mid (in the event-time order of a, b) -> r');
  });

  it('names a writer that is not a processor, writes nothing there, is the reader itself, or waits on the reader', () => {
    expect(() => build(['nobody'])).toThrow("source 'mid' is ordered after 'nobody', which is not a processor");
    expect(() => build(['r'])).toThrow("source 'mid' is ordered after 'r', which its own task runs: a task cannot wait on itself");
    expect(() => build(['a', 'b'], 'in')).not.toThrow();
    expect(() => build(['a', 'b'], 'other')).toThrow('sub-topologies 1 → 2 → 1 wait on each other');
  });
});

describe('wiring of declared outputs', () => {
  const PA_OUTPUTS = outputs('to-b', 'audit');
  class Pa implements Processor<string, string, (typeof PA_OUTPUTS)[number]> {
    process(record: StreamRecord<string, string>, ctx: ProcessorContext<(typeof PA_OUTPUTS)[number]>): void {
      ctx.forward('to-b', record.key, record.value);
      // @ts-expect-error a forward to a name the processor does not declare does not compile
      ctx.forward('to-c', record.key, record.value);
    }
  }
  const base = () =>
    new TopologyBuilder('app', 2)
      .topic({ name: 'a', doc: '' })
      .topic({ name: 'b', doc: '' })
      .topic({ name: 'audit', doc: '' })
      .source('sa', { topic: 'a', key: stringSerde, value: stringSerde });

  it('builds when every output is a node reading from the processor, and no other node does', () => {
    const topology = base()
      .processor('pa', () => new Pa(), { from: 'sa', outputs: PA_OUTPUTS })
      .sink('to-b', { topic: 'b', key: stringSerde, value: stringSerde, from: 'pa' })
      .sink('audit', { topic: 'audit', key: stringSerde, value: stringSerde, from: 'pa' })
      .build();
    const pa = topology.describe().subTopologies[0]!.nodes.find((n) => n.name === 'pa');
    expect(pa).toMatchObject({ kind: 'processor', children: ['to-b', 'audit'] });
  });

  it('names the processor and the output nothing reads (a missing output)', () => {
    const builder = base()
      .processor('pa', () => new Pa(), { from: 'sa', outputs: PA_OUTPUTS })
      .sink('to-b', { topic: 'b', key: stringSerde, value: stringSerde, from: 'pa' });
    expect(() => builder.build()).toThrow("processor 'pa' forwards to output 'audit', which is not wired: declare a processor or sink 'audit' with from: 'pa'");
  });

  it('names a sink that the processor never forwards to (a misnamed sink)', () => {
    const builder = base()
      .processor('pa', () => new Pa(), { from: 'sa', outputs: PA_OUTPUTS })
      .sink('to-b', { topic: 'b', key: stringSerde, value: stringSerde, from: 'pa' })
      .sink('audit', { topic: 'audit', key: stringSerde, value: stringSerde, from: 'pa' })
      .sink('to-audit', { topic: 'audit', key: stringSerde, value: stringSerde, from: 'pa' });
    expect(() => builder.build()).toThrow("sink 'to-audit' reads from processor 'pa', which never forwards to it (outputs of 'pa': to-b, audit)");
  });

  it('names an output declared by a node that reads from somewhere else', () => {
    const builder = base()
      .processor('pa', () => new Pa(), { from: 'sa', outputs: PA_OUTPUTS })
      .sink('to-b', { topic: 'b', key: stringSerde, value: stringSerde, from: 'pa' })
      .processor('audit', noop, { from: 'sa', outputs: [] });
    expect(() => builder.build()).toThrow("processor 'pa' forwards to output 'audit', which is not wired: 'audit' is a processor that does not read from it: add 'pa' to its from");
  });
});

describe('the product topology', () => {
  const topology = buildTopology({ appId: 'lp', partitions: 4, config: productConfig(), registry: new InMemoryRegistry() });
  const description = topology.describe();
  const nodes = description.subTopologies.flatMap((sub) => sub.nodes);

  it('takes the ingest and link tasks\' writes in event-time order unless writerOrder is off', () => {
    const ordered = (t: typeof topology) => t.subTopologies.map((s) => s.orderedInput && `${s.orderedInput.topic} after ${s.orderedInput.writers.join(' ')}`);
    expect(ordered(topology)).toEqual([undefined, 'identity.links after 0_0 0_1 0_2 0_3', 'touchpoints.resolved after 0_0 0_1 0_2 0_3 1_0']);
    expect(ordered(buildTopology({ appId: 'lp', partitions: 4, config: productConfig(), registry: new InMemoryRegistry(), writerOrder: false }))).toEqual([undefined, undefined, undefined]);
  });

  it('names each sink after the topic it writes', () => {
    const sinks = nodes.filter((n) => n.kind === 'sink');
    expect(sinks.length).toBeGreaterThan(0);
    for (const sink of sinks) expect(`${sink.name} -> ${sink.topic}`).toMatch(/^to-(\w+) -> [a-z]+\.\1$/);
  });

  it('describes itself as data: sub-topologies, nodes with their topics and stores, global stores, topics', () => {
    expect(description.subTopologies.map((s) => s.nodes.filter((n) => n.kind === 'source').map((n) => n.topic))).toEqual([['touchpoints.raw'], ['identity.links'], ['touchpoints.resolved']]);
    expect(nodes.find((n) => n.name === 'profile')).toMatchObject({ kind: 'processor', stores: ['profiles'], parents: ['resolved'] });
    expect(description.globalStores).toEqual([{ name: 'identity-graph', topic: 'lp-identifiers-changelog' }]);
    expect(description.topics.find((t) => t.name === 'engagement.commands')).toMatchObject({ partitions: 4, schema: 'EngagementCommand' });
    expect(JSON.parse(JSON.stringify(description))).toEqual(description);
  });
});
