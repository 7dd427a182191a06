/**
 * The dataflow of Listening Post, as in ARCHITECTURE.md: follow a
 * touchpoint from the topic a channel writes it to, through identity
 * resolution, to the profile task and the engagement commands.
 *
 *   touchpoints.raw ─► [ingest] ─┬─► [resolve] ─────────────────────┐
 *                                └─► identity.links ─► [link] ──────┤ (merges, erasures)
 *                                                                   ▼
 *                                                        touchpoints.resolved
 */
import { join } from 'node:path';
import type { IdentityConfig } from './processors/identity/config';
import { IdentifierHasher, identitySecret } from './processors/identity/identifiers';
import { IngestProcessor } from './processors/identity/ingest-processor';
import { DIRECTORY, IDENTIFIERS, LinkProcessor } from './processors/identity/link-processor';
import { IDENTITY_GRAPH, ResolveProcessor } from './processors/identity/resolve-processor';
import { profileEventFromWire, profileEventToWire, type ProfileEvent, type ProfileEventWire } from './processors/model/profile-event';
import type { Touchpoint } from './processors/model/touchpoint';
import { AvroSerde } from './runtime/serde/avro-serde';
import type { SchemaRegistryClient } from './runtime/serde/registry';
import { SchemaCatalog } from './runtime/serde/schema-catalog';
import { bufferSerde, jsonSerde, mapSerde, stringSerde } from './runtime/serde/serde';
import { TopologyBuilder, type Topology } from './runtime/topology';

export const SCHEMAS_DIR = join(__dirname, 'schemas');

/** The product's topics. A replay or a test may prefix them all to stay isolated. */
export function topicNames(prefix = '') {
  return {
    raw: `${prefix}touchpoints.raw`,
    links: `${prefix}identity.links`,
    resolved: `${prefix}touchpoints.resolved`,
    audit: `${prefix}identity.audit`,
  };
}

export interface ProductConfig {
  identity: IdentityConfig;
}

export interface TopologyOptions {
  appId: string;
  partitions: number;
  config: ProductConfig;
  registry: SchemaRegistryClient;
  /** Prefix for every topic (isolated replays and tests). */
  topicPrefix?: string;
}

export function buildTopology(options: TopologyOptions): Topology {
  const { config, registry } = options;
  const catalog = SchemaCatalog.load(SCHEMAS_DIR);
  const avro = <T>(type: string) => new AvroSerde<T>(registry, catalog.type(type));
  const touchpointSerde = avro<Touchpoint>('Touchpoint');
  const profileEventSerde = mapSerde<ProfileEvent, ProfileEventWire>(avro('ProfileEvent'), profileEventToWire, profileEventFromWire);
  const auditSerde = avro('IdentityAudit');
  const hasher = new IdentifierHasher(config.identity, identitySecret(config.identity));
  const topic = topicNames(options.topicPrefix);

  return (
    new TopologyBuilder(options.appId, options.partitions)
      .topic({ name: topic.raw, schema: 'Touchpoint', doc: 'every touchpoint of every channel, as the channel sent it' })
      .topic({ name: topic.links, partitions: 1, schema: 'Touchpoint', doc: 'touchpoints that may link identifiers (hashed), in one order' })
      .topic({ name: topic.resolved, schema: 'ProfileEvent', doc: 'touchpoints and identity instructions, keyed by canonical profile id' })
      .topic({ name: topic.audit, schema: 'IdentityAudit', doc: 'merges, refused links and erasures of identity resolution' })
      .globalStore(IDENTITY_GRAPH, { topic: `${options.appId}-${IDENTIFIERS}-changelog`, value: stringSerde })

      // [A] ingest and resolve, on every partition of touchpoints.raw
      .source('touchpoints', { topic: topic.raw, key: bufferSerde, value: touchpointSerde, eventTime: (t) => t.occurredAt })
      .processor('ingest', () => new IngestProcessor(config.identity, hasher), { from: 'touchpoints' })
      .sink('to-links', { topic: topic.links, key: stringSerde, value: touchpointSerde, partition: () => 0, from: 'ingest' })
      .processor('resolve', () => new ResolveProcessor(), { from: 'ingest', globalStores: [IDENTITY_GRAPH] })
      .sink('to-profiles', { topic: topic.resolved, key: stringSerde, value: profileEventSerde, from: ['resolve', 'link'] })
      .sink('audit', { topic: topic.audit, key: stringSerde, value: auditSerde, from: ['resolve', 'link'] })

      // [L] the identity graph's single writer, on the one partition of identity.links
      .source('links', { topic: topic.links, key: stringSerde, value: touchpointSerde, eventTime: (t) => t.occurredAt })
      .store(IDENTIFIERS, { value: stringSerde })
      .store(DIRECTORY, { value: jsonSerde() })
      .processor('link', () => new LinkProcessor(config.identity), { from: 'links', stores: [IDENTIFIERS, DIRECTORY] })
      .build()
  );
}
