import { DLQ_HEADERS } from './records';
import type { SchemaCatalog } from './serde/schema-catalog';
import type { Topology, TopicSpec } from './topology';

export interface AsyncApiOptions {
  title: string;
  version: string;
  description: string;
  /** Kafka bootstrap servers by name (AsyncAPI `servers`). */
  servers: Record<string, { host: string; description?: string }>;
}

const AVRO = 'application/vnd.apache.avro;version=1.9.0';
const BINDING_VERSION = '0.5.0';
const BYTES = { type: 'string', format: 'binary' } as const;

/**
 * An AsyncAPI 3 document of a topology: one channel per topic (its key,
 * its value's Avro schema from the catalog, partitions, compaction, who
 * writes it and who reads it), and the application's own operations (it
 * receives what its sources read and sends what its sinks, dead-letter
 * routing and changelogs write). Channels code against it; `listening-post
 * asyncapi` prints it.
 */
export function asyncApiDocument(topology: Topology, catalog: SchemaCatalog, options: AsyncApiOptions): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const roles = topicRoles(topology);
  for (const topic of topology.topics) {
    const role: TopicRole = roles.get(topic.name) ?? { writers: [], readers: [], engineReads: false, engineWrites: false };
    const id = channelId(topic.name);
    const message = topic.schema ? avroMessage(topic, catalog, role.key) : bytesMessage(role.kind);
    channels[id] = {
      address: topic.name,
      title: topic.name,
      description: [topic.doc.replace(/\.?$/, '.'), `Written by: ${(role.writers.length > 0 ? role.writers : ['producers outside the engine (channels)']).join('; ')}.`, `Read by: ${(role.readers.length > 0 ? role.readers : ['consumers outside the engine (channels, analytics)']).join('; ')}.`].join(' '),
      messages: { [message.name]: message.body },
      bindings: {
        kafka: {
          topic: topic.name,
          partitions: topic.partitions,
          topicConfiguration: { 'cleanup.policy': [topic.compacted ? 'compact' : 'delete'], ...(topic.retentionMs !== undefined ? { 'retention.ms': topic.retentionMs } : {}) },
          bindingVersion: BINDING_VERSION,
        },
      },
    };
    const ref = { $ref: `#/channels/${id}` };
    if (role.engineReads) operations[`receive.${id}`] = { action: 'receive', channel: ref, summary: `The engine reads ${topic.name} (read_committed).` };
    if (role.engineWrites) operations[`send.${id}`] = { action: 'send', channel: ref, summary: `The engine writes ${topic.name} (exactly-once: in transactions).` };
  }
  return {
    asyncapi: '3.0.0',
    info: { title: options.title, version: options.version, description: options.description },
    defaultContentType: 'application/vnd.apache.avro+binary',
    servers: Object.fromEntries(Object.entries(options.servers).map(([name, s]) => [name, { host: s.host, protocol: 'kafka', ...(s.description ? { description: s.description } : {}) }])),
    channels,
    operations,
  };
}

interface TopicRole {
  /** The key as its serde writes it: UTF-8 text, or bytes. */
  key?: 'string' | 'bytes';
  writers: string[];
  readers: string[];
  engineReads: boolean;
  engineWrites: boolean;
  kind?: 'dead-letter' | 'changelog';
}

/** Who writes and who reads each topic of the topology, in words, and whether the engine does: from its description. */
function topicRoles(topology: Topology): Map<string, TopicRole> {
  const roles = new Map<string, TopicRole>();
  const role = (topic: string) => {
    let r = roles.get(topic);
    if (!r) roles.set(topic, (r = { writers: [], readers: [], engineReads: false, engineWrites: false }));
    return r;
  };
  const description = topology.describe();
  for (const sub of description.subTopologies) {
    for (const node of sub.nodes) {
      if (node.kind === 'processor') continue;
      const r = role(node.topic);
      r.key ??= keyKind(node.key);
      if (node.kind === 'sink') {
        r.writers.push(`sub-topology ${sub.id} (sink '${node.name}' <- ${node.parents.join(', ')})`);
        r.engineWrites = true;
        continue;
      }
      r.readers.push(`sub-topology ${sub.id} (source '${node.name}' -> ${node.children.join(', ')})`);
      r.engineReads = true;
      const dlq = role(topology.deadLetterTopic(node.topic));
      dlq.writers.push(`the engine, for records of ${node.topic} it cannot process (original bytes; the reason in headers)`);
      dlq.engineWrites = true;
      dlq.kind = 'dead-letter';
    }
    for (const store of sub.stores) {
      if (!store.changelog) continue;
      const r = role(store.changelog);
      r.writers.push(`the engine: the changelog of store '${store.name}' (sub-topology ${sub.id})`);
      r.readers.push(`the engine, when it restores store '${store.name}'`);
      r.engineWrites = r.engineReads = true;
      r.kind = 'changelog';
    }
  }
  for (const global of description.globalStores) {
    const r = role(global.topic);
    r.readers.push(`every instance: global table '${global.name}'`);
    r.engineReads = true;
  }
  return roles;
}

function keyKind(serde: string): 'string' | 'bytes' {
  return serde === 'string' ? 'string' : 'bytes';
}

/** AsyncAPI channel and operation ids allow letters, digits, '.', '-' and '_'. */
function channelId(topic: string): string {
  return topic.replace(/[^\w.-]/g, '_');
}

function avroMessage(topic: TopicSpec, catalog: SchemaCatalog, key: TopicRole['key']): { name: string; body: unknown } {
  const type = catalog.type(topic.schema!);
  const name = type.name!.split('.').pop()!;
  return {
    name,
    body: {
      name,
      title: name,
      contentType: 'application/vnd.apache.avro+binary',
      description: `Avro in the Confluent wire format (magic byte 0, the 4-byte schema id of subject ${topic.name}-value, then the body); the key is ${key === 'string' ? 'a UTF-8 string' : 'bytes'}.`,
      payload: { schemaFormat: AVRO, schema: withNamespaces(type.schema({ exportAttrs: true })) },
      bindings: { kafka: { key: key === 'string' ? { type: 'string' } : BYTES, bindingVersion: BINDING_VERSION } },
    },
  };
}

/**
 * avsc writes a named type's full name ("dev.listeningpost.Touchpoint");
 * AsyncAPI's Avro schema wants the name and its namespace apart (the same
 * schema in Avro's terms).
 */
function withNamespaces(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withNamespaces);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = withNamespaces(value);
  const name = copy.name;
  if (['record', 'enum', 'fixed'].includes(copy.type as string) && typeof name === 'string' && name.includes('.')) {
    copy.namespace = name.slice(0, name.lastIndexOf('.'));
    copy.name = name.slice(name.lastIndexOf('.') + 1);
  }
  return copy;
}

function bytesMessage(kind: TopicRole['kind']): { name: string; body: unknown } {
  const name = kind === 'dead-letter' ? 'DeadLetter' : 'StoreEntry';
  const description =
    kind === 'dead-letter'
      ? `A record the engine could not process, with its original key and value bytes; headers ${Object.values(DLQ_HEADERS).join(', ')} say where it came from and why.`
      : 'A store entry: the key as UTF-8, the value in the store serde (null: deleted). Internal to the engine.';
  return {
    name,
    body: {
      name,
      title: name,
      contentType: 'application/octet-stream',
      description,
      payload: BYTES,
      bindings: { kafka: { key: BYTES, bindingVersion: BINDING_VERSION } },
    },
  };
}
