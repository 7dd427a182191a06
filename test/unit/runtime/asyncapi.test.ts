import { Parser } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { asyncApiDocument } from '../../../runtime/asyncapi';
import { InMemoryRegistry } from '../../../runtime/serde/registry';
import { SchemaCatalog } from '../../../runtime/serde/schema-catalog';
import { buildTopology, SCHEMAS_DIR, topicNames } from '../../../topology';
import { productConfig } from '../../support/product';

/** The AsyncAPI document of the product's topology, checked by the AsyncAPI project's own parser. */
const topology = buildTopology({ appId: 'lp', partitions: 4, config: productConfig(), registry: new InMemoryRegistry() });
const document = asyncApiDocument(topology, SchemaCatalog.load(SCHEMAS_DIR), {
  title: 'Listening Post',
  version: '0.1.0',
  description: 'test',
  servers: { kafka: { host: '127.0.0.1:19092' } },
}) as { channels: Record<string, Channel>; operations: Record<string, { action: string; channel: { $ref: string } }> };
const topics = topicNames();

interface Channel {
  address: string;
  description: string;
  messages: Record<string, { description: string; payload: { schemaFormat?: string; schema?: { name: string; namespace: string }; type?: string }; bindings: { kafka: { key: unknown } } }>;
  bindings: { kafka: { partitions: number; topicConfiguration: { 'cleanup.policy': string[] } } };
}

test('is a valid AsyncAPI 3 document, Avro payloads included', async () => {
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  const { document: parsed, diagnostics } = await parser.parse(JSON.stringify(document));
  expect(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
  expect(parsed).toBeDefined();
  expect(parsed!.channels().all().map((c) => c.address()).sort()).toEqual(topology.topics.map((t) => t.name).sort());
});

test('names each topic\'s value schema, key, partitions, compaction, writers and readers', () => {
  const channel = (topic: string) => Object.values(document.channels).find((c) => c.address === topic)!;
  for (const spec of topology.topics) {
    const c = channel(spec.name);
    expect(c.bindings.kafka.partitions).toBe(spec.partitions);
    expect(c.bindings.kafka.topicConfiguration['cleanup.policy']).toEqual([spec.compacted ? 'compact' : 'delete']);
    const [message] = Object.values(c.messages);
    if (spec.schema) expect(message!.payload.schema).toMatchObject({ namespace: 'dev.listeningpost', name: spec.schema });
    else expect(message!.payload).toEqual({ type: 'string', format: 'binary' });
  }
  expect(Object.values(channel(topics.commands).messages)[0]!.bindings.kafka.key).toEqual({ type: 'string' });
  expect(Object.values(channel(topics.raw).messages)[0]!.bindings.kafka.key).toEqual({ type: 'string', format: 'binary' });
  expect(channel(topics.raw).description).toMatch(/Written by: producers outside the engine \(channels\)\. Read by: sub-topology 0 \(source 'touchpoints' -> ingest\)\./);
  expect(channel(topics.commands).description).toMatch(/Written by: sub-topology \d \(sink 'to-commands' <- eligibility\)\. Read by: consumers outside the engine/);
  expect(Object.values(channel(`${topics.raw}.dlq`).messages)[0]!.description).toMatch(/lp\.error\.kind/);
});

test('the engine receives what it reads and sends what it writes', () => {
  const actions = (topic: string) =>
    Object.values(document.operations)
      .filter((o) => document.channels[o.channel.$ref.replace('#/channels/', '')]!.address === topic)
      .map((o) => o.action)
      .sort();
  expect(actions(topics.raw)).toEqual(['receive']);
  expect(actions(topics.commands)).toEqual(['send']);
  expect(actions(topics.resolved)).toEqual(['receive', 'send']);
  expect(actions(`${topics.raw}.dlq`)).toEqual(['send']);
});
