import { join } from 'node:path';
import { loadProfileConfig, type ProfileConfig } from '../../../processors/profile/config';
import { PROFILE_OUTPUTS, ProfileProcessor } from '../../../processors/profile/profile-processor';
import { PROFILES_STORE } from '../../../processors/stores';
import { profileEntrySerde } from '../../../processors/profile/serde';
import type { ProfileView } from '../../../processors/profile/view';
import { VIEW_OUTPUTS, ViewProcessor } from '../../../processors/profile/view-processor';
import { profileEventFromWire, profileEventToWire, type ProfileEvent, type ProfileEventWire } from '../../../processors/model/profile-event';
import type { ProfileEntry, ProfileState } from '../../../processors/model/profile-state';
import type { ProfileUpdate } from '../../../processors/model/profile-update';
import { touchpoint, type PageContext, type Touchpoint } from '../../../processors/model/touchpoint';
import { loadScoringModel } from '../../../processors/scoring/config';
import type { ScoringModel } from '../../../processors/scoring/model';
import { SCORING_OUTPUTS, ScoringProcessor } from '../../../processors/scoring/scoring-processor';
import { loadSegmentRules } from '../../../processors/segmentation/config';
import type { SegmentRules } from '../../../processors/segmentation/rules';
import { SEGMENTATION_OUTPUTS, SegmentationProcessor, type SegmentMembership } from '../../../processors/segmentation/segmentation-processor';
import { InProcessEngine } from '../../../runtime/in-process-engine';
import { AvroSerde } from '../../../runtime/serde/avro-serde';
import { InMemoryRegistry } from '../../../runtime/serde/registry';
import { SchemaCatalog } from '../../../runtime/serde/schema-catalog';
import { jsonSerde, mapSerde, stringSerde } from '../../../runtime/serde/serde';
import { TopologyBuilder } from '../../../runtime/topology';

export const ROOT = join(__dirname, '..', '..', '..');
export const CONFIG_DIR = join(ROOT, 'config');
const catalog = SchemaCatalog.load(join(ROOT, 'schemas'));

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const T0 = Date.UTC(2026, 9, 1, 9, 0, 0);

let sequence = 0;

/** A touchpoint with a unique event id; anonymous unless `extra` says otherwise. */
export function tp(at: number, channel: string, eventType: string, extra: Partial<Touchpoint> = {}): Touchpoint {
  return touchpoint({ eventId: `t${++sequence}`, occurredAt: at, channel, eventType, identifiers: [{ type: 'anonymous_id', value: 'anon-1' }], ...extra });
}

export function page(path: string, category: string | null, extra: Partial<PageContext> = {}): PageContext {
  return { path, category, product: null, depth: null, scrollPercent: null, dwellMs: null, ...extra };
}

export const TOPIC = {
  resolved: 'touchpoints.resolved',
  membership: 'segments.membership',
  views: 'profiles.view',
  updates: 'profile.updates',
  outcomes: 'profile.outcomes',
  links: 'identity.links',
} as const;

export interface Rules {
  profile: ProfileConfig;
  scoring: ScoringModel;
  segments: SegmentRules;
}

export function shippedRules(): Rules {
  const scoring = loadScoringModel(join(CONFIG_DIR, 'scoring.yaml'));
  return {
    profile: loadProfileConfig(join(CONFIG_DIR, 'profile.yaml')),
    scoring,
    segments: loadSegmentRules(join(CONFIG_DIR, 'segments.yaml'), scoring),
  };
}

/**
 * The fused profile task as topology.ts is expected to wire it, on the
 * in-process driver with the real Avro serdes (so every record we emit is
 * checked against its schema): profile -> scoring -> segmentation ->
 * (profile-view -> views, triggers, segment-changes); the profile node's
 * 'reroute' goes back to touchpoints.resolved. 'triggers' is a JSON sink
 * here, so tests can read the updates the triggers node would get.
 */
export class ProfileHarness {
  private constructor(readonly driver: InProcessEngine) {}

  static async create(rules: Rules, partitions = 1): Promise<ProfileHarness> {
    const registry = new InMemoryRegistry();
    const avro = <T>(type: string) => new AvroSerde<T>(registry, catalog.type(type));
    const events = mapSerde<ProfileEvent, ProfileEventWire>(avro('ProfileEvent'), profileEventToWire, profileEventFromWire);
    const topology = new TopologyBuilder('profile-test', partitions)
      .topic({ name: TOPIC.resolved, doc: 'input' })
      .topic({ name: TOPIC.membership, doc: 'segment changes' })
      .topic({ name: TOPIC.views, compacted: true, doc: 'views' })
      .topic({ name: TOPIC.updates, doc: 'what the triggers node would get' })
      .topic({ name: TOPIC.outcomes, doc: 'what the outcomes node would get' })
      .topic({ name: TOPIC.links, partitions: 1, doc: 'what the profile asks of the identity graph (retention)' })
      .source('resolved', { topic: TOPIC.resolved, key: stringSerde, value: events, eventTime: (e) => e.at })
      .store(PROFILES_STORE, { value: profileEntrySerde })
      .processor('profile', () => new ProfileProcessor(rules.profile), { from: 'resolved', outputs: PROFILE_OUTPUTS, stores: [PROFILES_STORE] })
      .sink('to-resolved', { topic: TOPIC.resolved, key: stringSerde, value: events, from: 'profile' })
      .sink('outcomes', { topic: TOPIC.outcomes, key: stringSerde, value: jsonSerde<ProfileUpdate>(), from: 'profile' })
      .sink('to-links', { topic: TOPIC.links, key: stringSerde, value: avro<Touchpoint>('Touchpoint'), partition: () => 0, from: 'profile' })
      .processor('scoring', () => new ScoringProcessor(rules.scoring), { from: 'profile', outputs: SCORING_OUTPUTS })
      .processor('segmentation', () => new SegmentationProcessor(rules.segments), { from: 'scoring', outputs: SEGMENTATION_OUTPUTS, stores: [PROFILES_STORE] })
      .sink('to-membership', { topic: TOPIC.membership, key: stringSerde, value: avro<SegmentMembership>('SegmentMembership'), from: ['segmentation', 'profile'] })
      .sink('triggers', { topic: TOPIC.updates, key: stringSerde, value: jsonSerde<ProfileUpdate>(), from: 'segmentation' })
      .processor('profile-view', () => new ViewProcessor(rules.profile, rules.scoring), { from: ['segmentation', 'profile'], outputs: VIEW_OUTPUTS, stores: [PROFILES_STORE] })
      .sink('to-view', { topic: TOPIC.views, key: stringSerde, value: avro<ProfileView>('ProfileView'), from: 'profile-view' })
      .build();
    return new ProfileHarness(await InProcessEngine.create(topology));
  }

  touch(profileId: string, touchpoint: Touchpoint): this {
    return this.pipe({ profileId, at: touchpoint.occurredAt, body: { kind: 'touchpoint', touchpoint } });
  }

  merge(loser: string, winner: string, at: number): this {
    return this.pipe({ profileId: loser, at, body: { kind: 'merge', loser, winner, causeEventId: `link-${at}` } });
  }

  erase(profileId: string, at: number): this {
    return this.pipe({ profileId, at, body: { kind: 'erase', causeEventId: `erase-${at}`, inactiveSince: null } });
  }

  pipe(event: ProfileEvent): this {
    this.driver.pipe(TOPIC.resolved, event.profileId, event, { timestamp: event.at });
    return this;
  }

  run(): Promise<void> {
    return this.driver.run();
  }

  advanceTime(to: number): Promise<void> {
    return this.driver.advanceTime(to);
  }

  entry(profileId: string): Promise<ProfileEntry | undefined> {
    return this.driver.storeValue<ProfileEntry>(PROFILES_STORE, profileId);
  }

  async profile(profileId: string): Promise<ProfileState> {
    const entry = await this.entry(profileId);
    if (!entry || 'mergedInto' in entry) throw new Error(`no live profile ${profileId}: ${JSON.stringify(entry)}`);
    return entry;
  }

  memberships(): SegmentMembership[] {
    return this.driver.output<string, SegmentMembership>(TOPIC.membership).map((o) => o.value!);
  }

  views(): { key: string; value: ProfileView | null; timestamp: number }[] {
    return this.driver.output<string, ProfileView>(TOPIC.views).map((o) => ({ key: o.key!, value: o.value, timestamp: o.timestamp }));
  }

  updates(): ProfileUpdate[] {
    return this.driver.output<string, ProfileUpdate>(TOPIC.updates).map((o) => o.value!);
  }

  /** What the profile node wrote back to touchpoints.resolved (re-addressed records and state transfers). */
  resolved(): ProfileEvent[] {
    return this.driver.output<string, ProfileEvent>(TOPIC.resolved).map((o) => o.value!);
  }
}
