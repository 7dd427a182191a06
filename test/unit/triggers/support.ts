import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { emptyProfile, isForwarding, type ProfileEntry, type ProfileState } from '../../../processors/model/profile-state';
import type { ProfileUpdate } from '../../../processors/model/profile-update';
import { touchpoint, type Touchpoint } from '../../../processors/model/touchpoint';
import type { OutcomesConfig } from '../../../processors/outcomes/config';
import type { TriggerLift } from '../../../processors/outcomes/lift';
import { OUTCOMES_OUTPUTS, OutcomesProcessor, type LiftEntry } from '../../../processors/outcomes/outcomes-processor';
import { LIFT_STORE, PROFILES_STORE } from '../../../processors/stores';
import type { EligibilityConfig, TriggerRules, TriggerSpec } from '../../../processors/triggers/config';
import { ELIGIBILITY_OUTPUTS, EligibilityProcessor } from '../../../processors/triggers/eligibility-processor';
import { mergeEngagement } from '../../../processors/triggers/merge';
import type { EngagementCommand, EngagementDecision } from '../../../processors/triggers/records';
import { TRIGGER_OUTPUTS, TriggerProcessor } from '../../../processors/triggers/trigger-processor';
import { valueAt } from '../../../processors/scoring/state';
import { InProcessEngine } from '../../../runtime/in-process-engine';
import { outputs, type Processor, type ProcessorContext, type StreamRecord } from '../../../runtime/processor';
import { SchemaCatalog } from '../../../runtime/serde/schema-catalog';
import { jsonSerde, stringSerde, type Serde } from '../../../runtime/serde/serde';
import { TopologyBuilder } from '../../../runtime/topology';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Monday 5 January 2026, 12:00 UTC (12:00 in Dublin, 07:00 in New York). */
export const T0 = Date.UTC(2026, 0, 5, 12, 0);

/** Scores the test profile node sets decay with this half-life, as scoring's would. */
export const SCORE_HALF_LIFE = 30 * DAY;

export const TOPICS = { input: 'test.input', commands: 'engagement.commands', decisions: 'engagement.decisions', lift: 'engagement.lift' };

// --- inputs -----------------------------------------------------------------------------------

/** What the test profile node reads: a touchpoint for a profile (with what scoring/segmentation would add), or a merge. */
export type TestInput =
  | { kind: 'touch'; profileId: string; touchpoint: Touchpoint; segmentsEntered?: string[]; scores?: Record<string, number> }
  | { kind: 'merge'; loser: string; winner: string; at: number };

export interface TouchOptions extends Partial<Touchpoint> {
  segmentsEntered?: string[];
  scores?: Record<string, number>;
}

/** A touchpoint of a known customer with an email, on web in session s1, unless `fields` say otherwise. */
export function touch(profileId: string, eventId: string, at: number, eventType: string, options: TouchOptions = {}): TestInput {
  const { segmentsEntered, scores, ...fields } = options;
  return {
    kind: 'touch',
    profileId,
    touchpoint: touchpoint({
      eventId,
      occurredAt: at,
      channel: 'web',
      eventType,
      sessionId: 's1',
      identifiers: [
        { type: 'customer_id', value: `cust-${profileId}` },
        { type: 'email', value: `mail-${profileId}` },
      ],
      ...fields,
    }),
    segmentsEntered,
    scores,
  };
}

export function grant(profileId: string, eventId: string, at: number, channel: string, purpose: string, granted = true, extra: TouchOptions = {}): TestInput {
  return touch(profileId, eventId, at, 'consent_updated', { consent: { channel, purpose, granted }, ...extra });
}

export function merge(loser: string, winner: string, at: number): TestInput {
  return { kind: 'merge', loser, winner, at };
}

/**
 * A stand-in for the profile, scoring and segmentation nodes, for tests:
 * loads or creates the profile in store `profiles`, applies the touchpoint
 * minimally (identifiers, channel sessions, consent, time zone, and the
 * segments and scores the test says were entered or changed), stores it
 * and forwards a ProfileUpdate to `outcomes` and `triggers`, as the
 * production nodes do. A merge folds the loser's engagement into the
 * winner with mergeEngagement and leaves a forwarding pointer.
 */
export const TEST_PROFILE_OUTPUTS = outputs('outcomes', 'triggers');

export class TestProfileProcessor implements Processor<string, TestInput, (typeof TEST_PROFILE_OUTPUTS)[number]> {
  prefetch(record: StreamRecord<string, TestInput>): Iterable<[string, string]> {
    const v = record.value;
    return v.kind === 'merge' ? [[PROFILES_STORE, v.loser], [PROFILES_STORE, v.winner]] : [[PROFILES_STORE, v.profileId]];
  }

  async process(record: StreamRecord<string, TestInput>, ctx: ProcessorContext<(typeof TEST_PROFILE_OUTPUTS)[number]>): Promise<void> {
    const store = ctx.store<ProfileEntry>(PROFILES_STORE);
    const v = record.value;
    if (v.kind === 'merge') {
      const winner = store.editable(v.winner, (await store.get(v.winner)) as ProfileState);
      const loser = (await store.get(v.loser)) as ProfileState;
      const winnerBefore = structuredClone(winner);
      winner.engagement = mergeEngagement(winner.engagement, loser.engagement);
      for (const [type, values] of Object.entries(loser.identifiers)) {
        winner.identifiers[type] = [...new Set([...(winner.identifiers[type] ?? []), ...values])];
      }
      for (const [key, c] of Object.entries(loser.consent)) if ((winner.consent[key]?.at ?? -Infinity) < c.at) winner.consent[key] = c;
      for (const [name, ch] of Object.entries(loser.channels)) if ((winner.channels[name]?.lastAt ?? -Infinity) < ch.lastAt) winner.channels[name] = ch;
      store.put(v.loser, { mergedInto: v.winner, at: v.at });
      const update: ProfileUpdate = { profile: winner, cause: 'merge', touchpoint: null, scoresBefore: {}, segmentsEntered: [], segmentsExited: [], merge: { loser, winnerBefore } };
      ctx.forward('outcomes', winner.id, update);
      ctx.forward('triggers', winner.id, update);
      return;
    }
    const t = v.touchpoint;
    const at = t.occurredAt;
    let entry = await store.get(v.profileId);
    while (isForwarding(entry)) entry = await store.get(entry.mergedInto);
    const profile: ProfileState = entry ? store.editable(entry.id, entry) : emptyProfile(v.profileId, at);
    profile.lastSeen = Math.max(profile.lastSeen, at);
    for (const id of t.identifiers) {
      const values = (profile.identifiers[id.type] ??= []);
      if (!values.includes(id.value)) values.push(id.value);
    }
    const channel = (profile.channels[t.channel] ??= { count: 0, lastAt: at, session: null });
    channel.count++;
    channel.lastAt = Math.max(channel.lastAt, at);
    if (t.sessionId !== null) {
      if (channel.session?.id === t.sessionId) {
        channel.session.lastAt = Math.max(channel.session.lastAt, at);
        channel.session.depth++;
      } else channel.session = { id: t.sessionId, startedAt: at, lastAt: at, depth: 1 };
    }
    if (t.consent) profile.consent[`${t.consent.channel}|${t.consent.purpose}`] = { value: t.consent.granted, at };
    if (t.timeZone) profile.timeZone = { value: t.timeZone, at };
    for (const segment of v.segmentsEntered ?? []) profile.segments[segment] = { since: at };
    // like scoring: every score's value just before this update, at its event time
    const scoresBefore: Record<string, number> = {};
    for (const [name, score] of Object.entries(profile.scores)) scoresBefore[name] = valueAt(score, Math.max(score.at, at));
    for (const [name, value] of Object.entries(v.scores ?? {})) {
      scoresBefore[name] ??= 0;
      profile.scores[name] = { value, at, halfLife: SCORE_HALF_LIFE, contributions: {} };
    }
    store.put(profile.id, profile);
    const update: ProfileUpdate = {
      profile,
      cause: 'touchpoint',
      touchpoint: t,
      scoresBefore,
      segmentsEntered: v.segmentsEntered ?? [],
      segmentsExited: [],
    };
    ctx.forward('outcomes', profile.id, update);
    ctx.forward('triggers', profile.id, update);
  }
}

// --- Avro check -------------------------------------------------------------------------------

const catalog = SchemaCatalog.load(join(__dirname, '../../../schemas'));

/**
 * Encodes with the Avro type from schemas/ and refuses a value that does not
 * match it exactly (a wrong type, a missing field, or a field the schema
 * does not have), so tests prove the records fit the contract channels read.
 */
export function avroSerde<T>(name: string): Serde<T> {
  const type = catalog.type(name);
  const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
  return {
    name: `avro:${name}`,
    serialize: (_topic, value) => {
      const bad: string[] = [];
      if (!type.isValid(value, { errorHook: (path) => bad.push(path.join('.') || '(record)') })) {
        throw new Error(`${name} does not match its schema at ${bad.join(', ')}: ${JSON.stringify(value)}`);
      }
      const bytes = type.toBuffer(value);
      if (!isDeepStrictEqual(plain(type.fromBuffer(bytes)), plain(value))) throw new Error(`${name} has fields its schema does not: ${JSON.stringify(value)}`);
      return bytes;
    },
    deserialize: (_topic, data) => plain(type.fromBuffer(data)) as T,
  };
}

// --- configs ----------------------------------------------------------------------------------

export function rules(triggers: TriggerSpec[], defaults: Partial<TriggerRules['defaults']> = {}): TriggerRules {
  return {
    vocabulary: { scores: new Set(), counters: new Map(), segments: new Set() },
    defaults: { grace: '5m', priority: 50, ttl: '1h', purpose: 'marketing', maxDelay: '10m', holdoutPercent: 0, cooldown: '1d', ...defaults },
    triggers,
  };
}

/** A single-event trigger on `eventType` (web banner, else email), open to every marketing-consenting person. */
export function onEvent(id: string, eventType: string, engage: Partial<TriggerSpec['engage']> = {}, extra: Partial<TriggerSpec> = {}): TriggerSpec {
  return {
    id,
    description: `${id} rule`,
    when: { event: { eventType } },
    engage: { action: 'banner', contentRef: `${id}-content`, channels: ['web', { channel: 'email', action: 'email' }], ...engage },
    ...extra,
  };
}

export function policy(overrides: Partial<EligibilityConfig> = {}): EligibilityConfig {
  return {
    defaultTimeZone: 'Europe/Dublin',
    consent: { allowWithoutRecord: ['service'] },
    channels: {
      web: { reach: 'session', sessionGap: '30m' },
      app: { reach: 'session', sessionGap: '30m' },
      email: { reach: 'identifier', identifierTypes: ['email'], quietHours: { from: '21:00', to: '08:00' } },
      sms: { reach: 'identifier', identifierTypes: ['phone'] },
    },
    fatigue: { caps: [], dismissals: { countAs: 0, triggerCooldown: '30d' } },
    arbitration: { window: '0s' },
    holdout: { salt: 'test' },
    ...overrides,
  };
}

export function outcomesConfig(overrides: Partial<OutcomesConfig> = {}): OutcomesConfig {
  return { attributionWindow: '7d', conversionEvents: ['purchase'], lift: { everyChanges: 1, maxInterval: '1m' }, ...overrides };
}

// --- the topology -----------------------------------------------------------------------------

export interface Setup {
  rules: TriggerRules;
  policy?: EligibilityConfig;
  outcomes?: OutcomesConfig;
  partitions?: number;
}

/** test input -> profile (test) -> outcomes, and -> triggers -> eligibility -> commands / decisions / outcomes -> lift */
export function engagementTopology(setup: Setup) {
  const eligibility = setup.policy ?? policy();
  const outcomes = setup.outcomes ?? outcomesConfig();
  return new TopologyBuilder('test-engagement', setup.partitions ?? 1)
    .topic({ name: TOPICS.input, doc: 'test input' })
    .topic({ name: TOPICS.commands, doc: 'commands' })
    .topic({ name: TOPICS.decisions, doc: 'decisions' })
    .topic({ name: TOPICS.lift, doc: 'lift' })
    .source('input', {
      topic: TOPICS.input,
      key: stringSerde,
      value: jsonSerde<TestInput>(),
      eventTime: (v) => (v.kind === 'merge' ? v.at : v.touchpoint.occurredAt),
    })
    .store(PROFILES_STORE, { value: jsonSerde<ProfileEntry>() })
    .store(LIFT_STORE, { value: jsonSerde<LiftEntry>() })
    .processor('profile', () => new TestProfileProcessor(), { from: 'input', outputs: TEST_PROFILE_OUTPUTS, stores: [PROFILES_STORE] })
    .processor('outcomes', () => new OutcomesProcessor(outcomes, setup.rules), { from: ['profile', 'eligibility'], outputs: OUTCOMES_OUTPUTS, stores: [PROFILES_STORE, LIFT_STORE] })
    .processor('triggers', () => new TriggerProcessor(setup.rules), { from: 'profile', outputs: TRIGGER_OUTPUTS, stores: [PROFILES_STORE] })
    .processor('eligibility', () => new EligibilityProcessor(eligibility, setup.rules), { from: 'triggers', outputs: ELIGIBILITY_OUTPUTS, stores: [PROFILES_STORE, LIFT_STORE] })
    .sink('to-commands', { topic: TOPICS.commands, key: stringSerde, value: avroSerde<EngagementCommand>('EngagementCommand'), from: 'eligibility' })
    .sink('to-decisions', { topic: TOPICS.decisions, key: stringSerde, value: avroSerde<EngagementDecision>('EngagementDecision'), from: 'eligibility' })
    .sink('to-lift', { topic: TOPICS.lift, key: stringSerde, value: avroSerde<TriggerLift>('TriggerLift'), from: 'outcomes' })
    .build();
}

/** A driver over the engagement topology with helpers to feed it and read what it decided. */
export class Harness {
  private constructor(readonly driver: InProcessEngine) {}

  static async create(setup: Setup): Promise<Harness> {
    return new Harness(await InProcessEngine.create(engagementTopology(setup)));
  }

  /** Pipes inputs in this order and processes them; fails the test if anything reached the dead-letter topic. */
  async send(...inputs: TestInput[]): Promise<void> {
    for (const input of inputs) {
      const key = input.kind === 'merge' ? input.winner : input.profileId;
      this.driver.pipe(TOPICS.input, key, input, { timestamp: input.kind === 'merge' ? input.at : input.touchpoint.occurredAt });
    }
    await this.driver.run();
    this.expectNoDeadLetters();
  }

  async advanceTo(time: number): Promise<void> {
    await this.driver.advanceTime(time);
    this.expectNoDeadLetters();
  }

  get commands(): EngagementCommand[] {
    return this.driver.output<string, EngagementCommand>(TOPICS.commands).map((o) => o.value!);
  }

  get decisions(): EngagementDecision[] {
    return this.driver.output<string, EngagementDecision>(TOPICS.decisions).map((o) => o.value!);
  }

  get lift(): TriggerLift[] {
    return this.driver.output<string, TriggerLift>(TOPICS.lift).map((o) => o.value!);
  }

  async profile(id: string): Promise<ProfileState> {
    return (await this.driver.storeValue<ProfileState>(PROFILES_STORE, id))!;
  }

  private expectNoDeadLetters(): void {
    const dead = this.driver.producedRecords.filter((r) => r.topic.endsWith('.dlq'));
    if (dead.length > 0) throw new Error(`dead-lettered: ${dead.map((r) => JSON.stringify(r.headers)).join('; ')}`);
  }
}
