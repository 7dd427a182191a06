/**
 * The dataflow of Listening Post, as in ARCHITECTURE.md: follow a
 * touchpoint from the topic a channel writes it to, through identity
 * resolution, to the profile task and the engagement commands.
 *
 *   touchpoints.raw ─► [ingest] ─► [resolve] ───────────────────────┐
 *                          └──────────┴─► identity.links ─► [link] ─┤ (new links, merges, corrections, erasures, retention)
 *                                                                   ▼
 *   touchpoints.resolved ─► [profile] ─► [scoring] ─► [segmentation] ─► [triggers] ─► [eligibility]
 *        ▲ (reroute)            │                         │  └─► [profile-view]        │  └─► engagement.decisions
 *        └──────────────────────┤                         └─► segments.membership     └─► engagement.commands
 *                               └─► [outcomes] ◄── exposures ─┘ ─► engagement.lift        profiles.view
 *
 * [profile] also writes to identity.links: a person inactive for
 * profile.yaml's retention has their identifiers released there first, and
 * a split hands the restored person the identifiers their own touchpoints
 * brought in.
 *
 * Each processor's module exports the outputs it forwards to (e.g.
 * PROFILE_OUTPUTS); build() refuses wiring that does not match them. A
 * sink is named after the topic it writes: `to-<topic>`.
 */
import { join } from 'node:path';
import type { IdentityConfig } from './processors/identity/config';
import { IdentifierHasher, identitySecret } from './processors/identity/identifiers';
import { INGEST_OUTPUTS, IngestProcessor, touchpointEventTime } from './processors/identity/ingest-processor';
import { LINK_OUTPUTS, LinkProcessor } from './processors/identity/link-processor';
import { RESOLVE_OUTPUTS, ResolveProcessor } from './processors/identity/resolve-processor';
import { profileEventFromWire, profileEventToWire, type ProfileEvent, type ProfileEventWire } from './processors/model/profile-event';
import type { Touchpoint } from './processors/model/touchpoint';
import type { OutcomesConfig } from './processors/outcomes/config';
import { OUTCOMES_OUTPUTS, OutcomesProcessor } from './processors/outcomes/outcomes-processor';
import type { ProfileConfig } from './processors/profile/config';
import { PROFILE_OUTPUTS, ProfileProcessor } from './processors/profile/profile-processor';
import { profileEntrySerde } from './processors/profile/serde';
import { VIEW_OUTPUTS, ViewProcessor } from './processors/profile/view-processor';
import type { ScoringModel } from './processors/scoring/model';
import { SCORING_OUTPUTS, ScoringProcessor } from './processors/scoring/scoring-processor';
import type { SegmentRules } from './processors/segmentation/rules';
import { SEGMENTATION_OUTPUTS, SegmentationProcessor } from './processors/segmentation/segmentation-processor';
import { DIRECTORY_STORE, IDENTIFIERS_STORE, IDENTITY_GRAPH_STORE, LIFT_STORE, PENDING_CORRECTIONS_STORE, PROFILES_STORE } from './processors/stores';
import type { EligibilityConfig, TriggerRules } from './processors/triggers/config';
import { ELIGIBILITY_OUTPUTS, EligibilityProcessor } from './processors/triggers/eligibility-processor';
import { TRIGGER_OUTPUTS, TriggerProcessor } from './processors/triggers/trigger-processor';
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
    commands: `${prefix}engagement.commands`,
    decisions: `${prefix}engagement.decisions`,
    membership: `${prefix}segments.membership`,
    views: `${prefix}profiles.view`,
    lift: `${prefix}engagement.lift`,
  };
}

export interface ProductConfig {
  identity: IdentityConfig;
  profile: ProfileConfig;
  scoring: ScoringModel;
  segments: SegmentRules;
  triggers: TriggerRules;
  eligibility: EligibilityConfig;
  outcomes: OutcomesConfig;
}

export interface TopologyOptions {
  appId: string;
  partitions: number;
  config: ProductConfig;
  registry: SchemaRegistryClient;
  /** Prefix for every topic (isolated replays and tests). */
  topicPrefix?: string;
  /**
   * The link and profile tasks take what the ingest and link tasks write in
   * event-time order (default): outputs independent of how their writes
   * interleave, at the cost of latency. Off, as it lands (engine.yaml
   * `writerOrder`).
   */
  writerOrder?: boolean;
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
  const inOrderOf = (writers: string[]) => (options.writerOrder === false ? {} : { orderedAfter: writers });

  return (
    new TopologyBuilder(options.appId, options.partitions)
      .topic({ name: topic.raw, schema: 'Touchpoint', doc: 'every touchpoint of every channel, as the channel sent it' })
      .topic({ name: topic.links, partitions: 1, schema: 'Touchpoint', doc: 'touchpoints that may link identifiers (hashed), in one order' })
      .topic({ name: topic.resolved, schema: 'ProfileEvent', doc: 'touchpoints and identity instructions, keyed by canonical profile id' })
      .topic({ name: topic.audit, schema: 'IdentityAudit', doc: 'merges, refused links and erasures of identity resolution' })
      .topic({ name: topic.commands, schema: 'EngagementCommand', doc: 'what a channel should do for a person now (the main output)' })
      .topic({ name: topic.decisions, schema: 'EngagementDecision', doc: 'triggers that fired but sent nothing, and why' })
      .topic({ name: topic.membership, schema: 'SegmentMembership', doc: 'segment enter and exit events' })
      .topic({ name: topic.views, schema: 'ProfileView', compacted: true, doc: 'the unified view of each profile (one voice)' })
      .topic({ name: topic.lift, schema: 'TriggerLift', compacted: true, doc: 'treatment and control counts per trigger, per partition' })
      .globalStore(IDENTITY_GRAPH_STORE, { fromStore: IDENTIFIERS_STORE, value: stringSerde })

      // [A] ingest and resolve, on every partition of touchpoints.raw
      .source('touchpoints', { topic: topic.raw, key: bufferSerde, value: touchpointSerde, eventTime: touchpointEventTime(config.identity) })
      .processor('ingest', () => new IngestProcessor(config.identity, hasher), { from: 'touchpoints', outputs: INGEST_OUTPUTS })
      .processor('resolve', () => new ResolveProcessor(), { from: 'ingest', outputs: RESOLVE_OUTPUTS, globalStores: [IDENTITY_GRAPH_STORE] })
      .sink('to-links', { topic: topic.links, key: stringSerde, value: touchpointSerde, partition: () => 0, from: ['ingest', 'resolve', 'profile'] })
      // the profile task's too: a person forgotten for inactivity has their identifiers released
      // also the profile task's reroute: state and records of a merged-away profile go to the winner, in order with its own
      .sink('to-resolved', { topic: topic.resolved, key: stringSerde, value: profileEventSerde, from: ['resolve', 'link', 'profile'] })
      .sink('to-audit', { topic: topic.audit, key: stringSerde, value: auditSerde, from: ['ingest', 'resolve', 'link'] })

      // [L] the identity graph's single writer, on the one partition of identity.links
      // in the ingest tasks' event-time order, whatever order their writes land in (runtime/input-order.ts)
      .source('links', { topic: topic.links, key: stringSerde, value: touchpointSerde, eventTime: (t) => t.occurredAt, ...inOrderOf(['ingest', 'resolve']) })
      .store(IDENTIFIERS_STORE, { value: stringSerde })
      .store(DIRECTORY_STORE, { value: jsonSerde() })
      .store(PENDING_CORRECTIONS_STORE, { value: jsonSerde() })
      .processor('link', () => new LinkProcessor(config.identity), { from: 'links', outputs: LINK_OUTPUTS, stores: [IDENTIFIERS_STORE, DIRECTORY_STORE, PENDING_CORRECTIONS_STORE] })

      // [B] the profile task, fused, on every partition of touchpoints.resolved
      // in the event-time order of the ingest tasks and the link task together; the profile task's own re-routing as it comes
      .source('resolved', { topic: topic.resolved, key: stringSerde, value: profileEventSerde, eventTime: (e) => e.at, ...inOrderOf(['resolve', 'link']) })
      .store(PROFILES_STORE, { value: profileEntrySerde })
      .store(LIFT_STORE, { value: jsonSerde() })
      .processor('profile', () => new ProfileProcessor(config.profile, config.identity.reversibleMerges), { from: 'resolved', outputs: PROFILE_OUTPUTS, stores: [PROFILES_STORE] })
      .processor('outcomes', () => new OutcomesProcessor(config.outcomes, config.triggers), { from: ['profile', 'eligibility'], outputs: OUTCOMES_OUTPUTS, stores: [PROFILES_STORE, LIFT_STORE] })
      .sink('to-lift', { topic: topic.lift, key: stringSerde, value: avro('TriggerLift'), from: 'outcomes' })
      .processor('scoring', () => new ScoringProcessor(config.scoring), { from: 'profile', outputs: SCORING_OUTPUTS })
      .processor('segmentation', () => new SegmentationProcessor(config.segments), { from: 'scoring', outputs: SEGMENTATION_OUTPUTS, stores: [PROFILES_STORE] })
      .sink('to-membership', { topic: topic.membership, key: stringSerde, value: avro('SegmentMembership'), from: ['segmentation', 'profile'] })
      .processor('profile-view', () => new ViewProcessor(config.profile, config.scoring), { from: ['segmentation', 'profile'], outputs: VIEW_OUTPUTS, stores: [PROFILES_STORE] })
      .sink('to-view', { topic: topic.views, key: stringSerde, value: avro('ProfileView'), from: 'profile-view' })
      .processor('triggers', () => new TriggerProcessor(config.triggers), { from: 'segmentation', outputs: TRIGGER_OUTPUTS, stores: [PROFILES_STORE] })
      .processor('eligibility', () => new EligibilityProcessor(config.eligibility, config.triggers), { from: 'triggers', outputs: ELIGIBILITY_OUTPUTS, stores: [PROFILES_STORE, LIFT_STORE] })
      .sink('to-commands', { topic: topic.commands, key: stringSerde, value: avro('EngagementCommand'), from: 'eligibility' })
      .sink('to-decisions', { topic: topic.decisions, key: stringSerde, value: avro('EngagementDecision'), from: 'eligibility' })
      .build()
  );
}
