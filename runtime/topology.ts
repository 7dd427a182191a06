import { TopologyError } from './errors';
import type { Processor } from './processor';
import { bufferSerde, jsonSerde, type Serde } from './serde/serde';

/** A topic the application reads or writes; `npm run topics:create` makes these. */
export interface TopicSpec {
  name: string;
  /** Defaults to the topology's partition count. */
  partitions?: number;
  /** Compacted topics are tables (latest value per key) and changelogs. */
  compacted?: boolean;
  retentionMs?: number;
  /** Name of the Avro record type (in schemas/) of the values, registered as `<topic>-value`. */
  schema?: string;
  /** One line on what the topic is for; printed by topics:create and describe(). */
  doc: string;
}

export interface SourceOptions<K, V> {
  topic: string;
  key: Serde<K>;
  value: Serde<V>;
  /** Event time of a record; defaults to the Kafka record timestamp. */
  eventTime?(value: V, kafkaTimestamp: number): number;
  /**
   * Processors whose tasks' writes to this topic are taken in event-time
   * order, whatever the order their transactions land in: held and released
   * on the watermark of those writers (runtime/input-order.ts). Records of
   * any other writer (e.g. the reading task's own re-routing) are processed
   * as they come. Writers must not, in turn, wait on this reader.
   */
  orderedAfter?: string[];
}

export interface SinkOptions<K, V> {
  topic: string;
  key: Serde<K>;
  value: Serde<V>;
  /** Explicit partition; by default the key's murmur2 hash, as Kafka's Java clients do. */
  partition?(key: K, value: V, partitions: number): number;
  from: string | string[];
}

export interface StoreOptions<V> {
  value: Serde<V>;
  /** Backed by a compacted changelog topic (default). Without one a store is lost with its task. */
  changelog?: boolean;
  /** Upper bound on entries kept in memory in front of RocksDB. */
  cacheEntries?: number;
}

/** A global table as built: the compacted topic it is read from, on every instance. */
export interface GlobalStoreOptions<V> {
  topic: string;
  value: Serde<V>;
}

/** How a topology declares a global table: from a compacted topic, or from another store's changelog (named for you). */
export type GlobalStoreSource<V> = { value: Serde<V> } & ({ topic: string } | { fromStore: string });

export interface ProcessorOptions<Out extends string = string> {
  from: string | string[];
  /** The nodes the processor forwards to: its module's exported outputs, each of them a node with `from` this processor. */
  outputs: readonly Out[];
  stores?: string[];
  globalStores?: string[];
}

export interface SourceNode {
  kind: 'source';
  name: string;
  options: SourceOptions<unknown, unknown>;
  children: string[];
}

export interface ProcessorNode {
  kind: 'processor';
  name: string;
  supplier: () => Processor<unknown, unknown>;
  parents: string[];
  outputs: readonly string[];
  stores: string[];
  globalStores: string[];
  children: string[];
}

export interface SinkNode {
  kind: 'sink';
  name: string;
  options: SinkOptions<unknown, unknown>;
  parents: string[];
}

export type Node = SourceNode | ProcessorNode | SinkNode;

export interface StoreDefinition {
  name: string;
  options: StoreOptions<unknown>;
  /** Changelog topic, when the store has one. */
  changelog?: string;
}

export interface GlobalStoreDefinition {
  name: string;
  options: GlobalStoreOptions<unknown>;
}

/** The part of the topology that one task runs: everything reachable from its sources. */
export interface SubTopology {
  id: number;
  sources: SourceNode[];
  nodes: Map<string, Node>;
  stores: StoreDefinition[];
  partitions: number;
  /** The source topic taken in the order of its writers, those writers' task ids, and their sub-topologies. */
  orderedInput?: { topic: string; writers: string[]; after: number[] };
  /** Topics read in writer order: this sub-topology's tasks put an order key on every record they write there. */
  orderKeyTopics: string[];
  /** Of those, the topics whose readers wait on this sub-topology's progress: its tasks send them progress markers. */
  progressTopics: string[];
}

export interface Topology {
  appId: string;
  topics: TopicSpec[];
  subTopologies: SubTopology[];
  globalStores: GlobalStoreDefinition[];
  /** Where each source topic's bad records go. */
  deadLetterTopic(sourceTopic: string): string;
  /** The topology as data, like Kafka Streams' TopologyDescription; `formatTopology` prints it. */
  describe(): TopologyDescription;
}

export interface TopologyDescription {
  appId: string;
  subTopologies: SubTopologyDescription[];
  globalStores: { name: string; topic: string }[];
  /** Every topic, with its partition count resolved: declared ones, changelogs and dead-letter topics. */
  topics: (TopicSpec & { partitions: number })[];
}

export interface SubTopologyDescription {
  id: number;
  /** One task per partition. */
  partitions: number;
  /** In the order they were declared, which is the order a reader follows the data. */
  nodes: NodeDescription[];
  stores: { name: string; changelog?: string }[];
}

/** `key` is the key serde's name (`string`, `bytes`, ...): what a topic's keys are. */
export type NodeDescription =
  | { kind: 'source'; name: string; topic: string; key: string; children: string[]; orderedAfter?: string[] }
  | { kind: 'processor'; name: string; parents: string[]; children: string[]; stores: string[]; globalStores: string[] }
  | { kind: 'sink'; name: string; topic: string; key: string; parents: string[] };

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/**
 * Declares the dataflow: topics, sources, processors, sinks and stores, in
 * the order a reader follows the data. `build()` checks that everything a
 * node names exists and cuts the graph into sub-topologies (one per group
 * of co-partitioned sources), each of which runs as one task per partition.
 */
export class TopologyBuilder {
  private readonly topics = new Map<string, TopicSpec>();
  private readonly nodes = new Map<string, Node>();
  private readonly stores = new Map<string, StoreOptions<unknown>>();
  private readonly globals = new Map<string, GlobalStoreSource<unknown>>();

  constructor(
    private readonly appId: string,
    private readonly defaultPartitions: number,
  ) {}

  topic(spec: TopicSpec): this {
    if (this.topics.has(spec.name)) throw new TopologyError(`topic '${spec.name}' is declared twice`);
    this.topics.set(spec.name, spec);
    return this;
  }

  source<K, V>(name: string, options: SourceOptions<K, V>): this {
    this.addNode({ kind: 'source', name, options: options as SourceOptions<unknown, unknown>, children: [] });
    return this;
  }

  /** `Out` comes from the processor, so `outputs` can only name nodes its `forward` calls can reach. */
  processor<K, V, Out extends string>(name: string, supplier: () => Processor<K, V, Out>, options: ProcessorOptions<NoInfer<Out>>): this {
    this.addNode({
      kind: 'processor',
      name,
      supplier: supplier as () => Processor<unknown, unknown>,
      parents: asList(options.from),
      outputs: options.outputs,
      stores: options.stores ?? [],
      globalStores: options.globalStores ?? [],
      children: [],
    });
    return this;
  }

  sink<K, V>(name: string, options: SinkOptions<K, V>): this {
    this.addNode({ kind: 'sink', name, options: options as SinkOptions<unknown, unknown>, parents: asList(options.from) });
    return this;
  }

  store<V>(name: string, options: StoreOptions<V>): this {
    if (this.stores.has(name) || this.globals.has(name)) throw new TopologyError(`store '${name}' is declared twice`);
    this.stores.set(name, options as StoreOptions<unknown>);
    return this;
  }

  globalStore<V>(name: string, options: GlobalStoreSource<V>): this {
    if (this.stores.has(name) || this.globals.has(name)) throw new TopologyError(`store '${name}' is declared twice`);
    this.globals.set(name, options as GlobalStoreSource<unknown>);
    return this;
  }

  changelogTopic(store: string): string {
    return `${this.appId}-${store}-changelog`;
  }

  build(): Topology {
    this.linkChildren();
    const topics = new Map(this.topics);
    const partitionsOf = (topic: string) => topics.get(topic)?.partitions ?? this.defaultPartitions;
    const subTopologies = this.cutSubTopologies(partitionsOf);
    orderInputs(subTopologies);

    for (const sub of subTopologies) {
      for (const store of sub.stores) {
        if (!store.changelog) continue;
        topics.set(store.changelog, {
          name: store.changelog,
          partitions: sub.partitions,
          compacted: true,
          doc:
            store.name === TASK_STORE
              ? `timers and stream time of the tasks reading ${sub.sources[0]!.options.topic}`
              : `changelog of store '${store.name}' (partition N is written by the task of input partition N)`,
        });
      }
      for (const source of sub.sources) {
        const dlq = deadLetterTopic(source.options.topic);
        topics.set(dlq, { name: dlq, partitions: 1, doc: `records of ${source.options.topic} that could not be processed, with the original bytes and a reason` });
      }
    }
    const globalStores = [...this.globals].map(([name, source]) => {
      if ('fromStore' in source) {
        const store = this.stores.get(source.fromStore);
        if (!store || store.changelog === false) throw new TopologyError(`global store '${name}' reads the changelog of store '${source.fromStore}', which ${store ? 'has none' : 'is not declared'}`);
      }
      const topic = 'fromStore' in source ? this.changelogTopic(source.fromStore) : source.topic;
      if (!topics.has(topic)) throw new TopologyError(`global store '${name}' reads topic '${topic}', which is not declared`);
      return { name, options: { topic, value: source.value } };
    });
    const topicList = [...topics.values()].map((t) => ({ ...t, partitions: t.partitions ?? this.defaultPartitions }));
    return {
      appId: this.appId,
      topics: topicList,
      subTopologies,
      globalStores,
      deadLetterTopic,
      describe: () => describe(this.appId, subTopologies, globalStores, topicList),
    };
  }

  private addNode(node: Node): void {
    if (this.nodes.has(node.name)) throw new TopologyError(`node '${node.name}' is declared twice`);
    this.nodes.set(node.name, node);
  }

  private linkChildren(): void {
    for (const node of this.nodes.values()) {
      if (node.kind === 'source') {
        node.children = [];
        this.requireTopic(node.options.topic, `source '${node.name}'`);
      }
    }
    for (const node of this.nodes.values()) {
      if (node.kind === 'processor') node.children = [];
    }
    for (const node of this.nodes.values()) {
      if (node.kind === 'source') continue;
      if (node.kind === 'sink') this.requireTopic(node.options.topic, `sink '${node.name}'`);
      for (const parentName of node.parents) {
        const parent = this.nodes.get(parentName);
        if (!parent) throw new TopologyError(`${node.kind} '${node.name}' reads from '${parentName}', which is not declared`);
        if (parent.kind === 'sink') throw new TopologyError(`${node.kind} '${node.name}' reads from sink '${parentName}'; a sink has no output`);
        parent.children.push(node.name);
      }
      if (node.kind === 'processor') {
        for (const store of node.stores) {
          if (!this.stores.has(store)) throw new TopologyError(`processor '${node.name}' uses store '${store}', which is not declared`);
        }
        for (const store of node.globalStores) {
          if (!this.globals.has(store)) throw new TopologyError(`processor '${node.name}' uses global store '${store}', which is not declared`);
        }
      }
    }
    for (const node of this.nodes.values()) {
      if (node.kind === 'processor') checkOutputs(node, this.nodes);
    }
  }

  private requireTopic(topic: string, user: string): void {
    if (!this.topics.has(topic)) throw new TopologyError(`${user} uses topic '${topic}', which is not declared with topic()`);
  }

  /** Connected components of the node graph; each must contain at least one source. */
  private cutSubTopologies(partitionsOf: (topic: string) => number): SubTopology[] {
    const component = new Map<string, number>();
    const neighbours = (node: Node): string[] => (node.kind === 'source' ? node.children : node.kind === 'processor' ? [...node.parents, ...node.children] : []);
    let next = 0;
    const subTopologies: SubTopology[] = [];
    for (const start of this.nodes.values()) {
      if (start.kind !== 'source' || component.has(start.name)) continue;
      const id = next++;
      const members = new Map<string, Node>();
      const stack = [start.name];
      while (stack.length > 0) {
        const name = stack.pop()!;
        const node = this.nodes.get(name)!;
        // A sink fed from several sub-topologies belongs to each of them and joins none.
        if (node.kind === 'sink') {
          members.set(name, node);
          component.set(name, id);
          continue;
        }
        if (component.has(name)) continue;
        component.set(name, id);
        members.set(name, node);
        stack.push(...neighbours(node));
      }
      const sources = [...members.values()].filter((n): n is SourceNode => n.kind === 'source');
      const partitions = partitionsOf(sources[0]!.options.topic);
      for (const source of sources.slice(1)) {
        if (partitionsOf(source.options.topic) !== partitions) {
          throw new TopologyError(
            `sources '${sources[0]!.name}' (${sources[0]!.options.topic}, ${partitions} partitions) and '${source.name}' (${source.options.topic}, ${partitionsOf(source.options.topic)} partitions) feed one task and must be co-partitioned: give both topics the same partition count`,
          );
        }
      }
      // Sources first, then the order of declaration, which is the order topology.ts tells the dataflow in.
      const declared = [...this.nodes].filter(([name]) => members.has(name));
      const nodes = new Map([...declared.filter(([, n]) => n.kind === 'source'), ...declared.filter(([, n]) => n.kind !== 'source')]);
      subTopologies.push({ id, sources, nodes, stores: [], partitions, orderKeyTopics: [], progressTopics: [] });
    }
    const orphan = [...this.nodes.keys()].find((name) => !component.has(name));
    if (orphan) throw new TopologyError(`node '${orphan}' is not reachable from any source`);

    const storeOwner = new Map<string, number>();
    for (const sub of subTopologies) {
      for (const node of sub.nodes.values()) {
        if (node.kind !== 'processor') continue;
        for (const store of node.stores) {
          const owner = storeOwner.get(store);
          if (owner !== undefined && owner !== sub.id) {
            throw new TopologyError(`store '${store}' is used by processors of two sub-topologies (${owner} and ${sub.id}); a store belongs to one task`);
          }
          if (owner === undefined) {
            storeOwner.set(store, sub.id);
            const options = this.stores.get(store)!;
            sub.stores.push({ name: store, options, changelog: options.changelog === false ? undefined : this.changelogTopic(store) });
          }
        }
      }
    }
    const unused = [...this.stores.keys()].find((store) => !storeOwner.has(store));
    if (unused) throw new TopologyError(`store '${unused}' is declared but no processor uses it`);
    for (const sub of subTopologies) {
      sub.stores.push({
        name: TASK_STORE,
        // Cached like any store: a timer looks up its current time here when it changes.
        options: { value: jsonSerde<unknown>() },
        changelog: `${this.appId}-${sub.sources[0]!.options.topic}-task-changelog`,
      });
      sub.stores.push({ name: TIMER_INDEX_STORE, options: { value: bufferSerde, cacheEntries: 0, changelog: false } });
    }
    return subTopologies;
  }
}

/**
 * Resolves each source's `orderedAfter` into the writers' task ids, and
 * tells every sub-topology which topics it puts order keys on and which it
 * owes progress markers to.
 */
function orderInputs(subTopologies: SubTopology[]): void {
  const subOf = new Map<string, SubTopology>();
  for (const sub of subTopologies) for (const [name, node] of sub.nodes) if (node.kind !== 'sink') subOf.set(name, sub);
  const writesTo = (sub: SubTopology, topic: string) => [...sub.nodes.values()].some((n) => n.kind === 'sink' && n.options.topic === topic && n.parents.some((p) => subOf.get(p) === sub));
  const waitsOn = new Map<number, Set<number>>();
  for (const reader of subTopologies) {
    for (const source of reader.sources) {
      const named = source.options.orderedAfter;
      if (!named) continue;
      const topic = source.options.topic;
      if (reader.orderedInput) throw new TopologyError(`sub-topology ${reader.id} takes two topics in writer order (${reader.orderedInput.topic}, ${topic}); one is supported`);
      const writers: SubTopology[] = [];
      for (const name of named) {
        const writer = subOf.get(name);
        if (writer?.nodes.get(name)?.kind !== 'processor') throw new TopologyError(`source '${source.name}' is ordered after '${name}', which is not a processor`);
        if (writer === reader) throw new TopologyError(`source '${source.name}' is ordered after '${name}', which its own task runs: a task cannot wait on itself`);
        if (!writesTo(writer, topic)) throw new TopologyError(`source '${source.name}' is ordered after '${name}', whose task writes nothing to ${topic}`);
        if (!writers.includes(writer)) writers.push(writer);
      }
      reader.orderedInput = { topic, writers: writers.flatMap((w) => Array.from({ length: w.partitions }, (_, p) => `${w.id}_${p}`)), after: writers.map((w) => w.id) };
      waitsOn.set(reader.id, new Set(reader.orderedInput.after));
      for (const sub of subTopologies) {
        if (writesTo(sub, topic)) sub.orderKeyTopics.push(topic);
        if (writers.includes(sub)) sub.progressTopics.push(topic);
      }
    }
  }
  const visiting = new Set<number>();
  const check = (id: number, path: number[]): void => {
    if (visiting.has(id)) throw new TopologyError(`sub-topologies ${[...path, id].join(' → ')} wait on each other's progress`);
    visiting.add(id);
    for (const next of waitsOn.get(id) ?? []) check(next, [...path, id]);
    visiting.delete(id);
  };
  for (const id of waitsOn.keys()) check(id, []);
}

/** Per-task store of the runtime itself: event-time timers and stream time. */
export const TASK_STORE = '__task';
/** The task's timers by time (derived from TASK_STORE: local, no changelog). */
export const TIMER_INDEX_STORE = '__timers';

export function deadLetterTopic(sourceTopic: string): string {
  return `${sourceTopic}.dlq`;
}

/**
 * A processor's declared outputs and the nodes that read from it must be
 * the same names: an output nothing reads would fail at its first
 * forward, and a node no output names would never receive a record.
 */
function checkOutputs(node: ProcessorNode, nodes: Map<string, Node>): void {
  const outputs = new Set(node.outputs);
  for (const output of outputs) {
    if (node.children.includes(output)) continue;
    const existing = nodes.get(output);
    const hint = existing ? `'${output}' is a ${existing.kind} that does not read from it: add '${node.name}' to its from` : `declare a processor or sink '${output}' with from: '${node.name}'`;
    throw new TopologyError(`processor '${node.name}' forwards to output '${output}', which is not wired: ${hint}`);
  }
  const stray = node.children.find((child) => !outputs.has(child));
  if (stray) {
    throw new TopologyError(
      `${nodes.get(stray)!.kind} '${stray}' reads from processor '${node.name}', which never forwards to it (outputs of '${node.name}': ${[...outputs].join(', ') || 'none'})`,
    );
  }
}

function describe(
  appId: string,
  subTopologies: SubTopology[],
  globalStores: GlobalStoreDefinition[],
  topics: (TopicSpec & { partitions: number })[],
): TopologyDescription {
  return {
    appId,
    subTopologies: subTopologies.map((sub) => ({
      id: sub.id,
      partitions: sub.partitions,
      nodes: [...sub.nodes.values()].map(describeNode),
      stores: sub.stores.filter((s) => s.name !== TIMER_INDEX_STORE).map((s) => ({ name: s.name, ...(s.changelog ? { changelog: s.changelog } : {}) })),
    })),
    globalStores: globalStores.map((g) => ({ name: g.name, topic: g.options.topic })),
    topics: topics.map((t) => ({ ...t })),
  };
}

function describeNode(node: Node): NodeDescription {
  switch (node.kind) {
    case 'source':
      return {
        kind: 'source',
        name: node.name,
        topic: node.options.topic,
        key: node.options.key.name,
        children: [...node.children],
        ...(node.options.orderedAfter ? { orderedAfter: [...node.options.orderedAfter] } : {}),
      };
    case 'processor':
      return { kind: 'processor', name: node.name, parents: [...node.parents], children: [...node.children], stores: [...node.stores], globalStores: [...node.globalStores] };
    case 'sink':
      return { kind: 'sink', name: node.name, topic: node.options.topic, key: node.options.key.name, parents: [...node.parents] };
  }
}

/** The description as text, one line a node, for `listening-post topology`. */
export function formatTopology(description: TopologyDescription): string {
  const lines = [`Topology ${description.appId}`];
  for (const sub of description.subTopologies) {
    lines.push(`  Sub-topology ${sub.id} (${sub.partitions} ${sub.partitions === 1 ? 'task' : 'tasks'})`);
    for (const node of sub.nodes) {
      if (node.kind === 'source') {
        const order = node.orderedAfter ? ` (in the event-time order of ${node.orderedAfter.join(', ')})` : '';
        lines.push(`    source ${node.name} <- ${node.topic}${order} -> ${node.children.join(', ')}`);
      }
      if (node.kind === 'processor') {
        const stores = [...node.stores, ...node.globalStores.map((g) => `${g} (global)`)];
        lines.push(`    processor ${node.name}${stores.length ? ` [stores: ${stores.join(', ')}]` : ''} -> ${node.children.join(', ') || '(none)'}`);
      }
      if (node.kind === 'sink') lines.push(`    sink ${node.name} -> ${node.topic}`);
    }
  }
  for (const g of description.globalStores) lines.push(`  Global store ${g.name} <- ${g.topic}`);
  lines.push('  Topics');
  for (const t of description.topics) lines.push(`    ${t.name} (${t.partitions} partitions${t.compacted ? ', compacted' : ''}): ${t.doc}`);
  return lines.join('\n');
}
