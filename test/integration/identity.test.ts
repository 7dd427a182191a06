import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stackEndpoints } from '../../local-stack/settings';
import { profileEventFromWire, type ProfileEvent, type ProfileEventWire } from '../../processors/model/profile-event';
import type { Touchpoint } from '../../processors/model/touchpoint';
import { Engine } from '../../runtime/kafka/engine';
import { createTopics } from '../../runtime/kafka/kafkajs/topics';
import { AvroSerde } from '../../runtime/serde/avro-serde';
import { ConfluentRegistry } from '../../runtime/serde/registry';
import { SchemaCatalog } from '../../runtime/serde/schema-catalog';
import { buildTopology, SCHEMAS_DIR, topicNames } from '../../topology';
import { caughtUp, connectedAdmin, readToEnd, testProducer, uniqueName } from '../support/kafka';
import { eventually } from '../support/processes';
import { HOUR, MINUTE, T0, productConfig, tp } from '../support/product';

/**
 * Identity resolution on the real stack with 4 partitions: one person's
 * identifiers arrive on different partitions of touchpoints.raw, links and
 * plain touchpoints interleaved, and still end in one profile.
 */
jest.setTimeout(180_000);

describe('identity resolution on Kafka', () => {
  const { kafka, admin } = connectedAdmin();

  it('converges identifiers seen on different partitions into one profile', async () => {
    const appId = uniqueName('id-it');
    const prefix = `${appId}.`;
    const topics = topicNames(prefix);
    const registry = new ConfluentRegistry(stackEndpoints().registryUrl);
    const topology = buildTopology({ appId, partitions: 4, config: productConfig(), registry, topicPrefix: prefix });
    await createTopics(admin, topology);

    const people = 20;
    const journey: { t: Touchpoint; partition: number }[] = [];
    for (let p = 0; p < people; p++) {
      const at = T0 + p * MINUTE;
      const ids = { anon: `anon-${p}`, device: `device-${p}`, customer: `CUST-${p}`, email: `person${p}@example.org` };
      journey.push({ t: tp(at, 'web', 'page_view', { anonymous_id: ids.anon }), partition: p % 4 });
      journey.push({ t: tp(at + MINUTE, 'app', 'page_view', { device_id: ids.device }), partition: (p + 1) % 4 });
      journey.push({ t: tp(at + HOUR, 'web', 'login', { customer_id: ids.customer, anonymous_id: ids.anon }, { authenticated: true }), partition: (p + 2) % 4 });
      journey.push({ t: tp(at + 2 * HOUR, 'app', 'login', { email: ids.email, device_id: ids.device }, { authenticated: true }), partition: (p + 3) % 4 });
      journey.push({ t: tp(at + 3 * HOUR, 'online_banking', 'login', { customer_id: ids.customer, email: ids.email }, { authenticated: true }), partition: p % 4 });
      journey.push({ t: tp(at + 4 * HOUR, 'web', 'page_view', { anonymous_id: ids.anon }), partition: (p + 1) % 4 });
    }
    const touchpoints = new AvroSerde<Touchpoint>(registry, SchemaCatalog.load(SCHEMAS_DIR).type('Touchpoint'));
    await touchpoints.init(topics.raw);
    const producer = testProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: topics.raw,
      messages: journey.map(({ t, partition }) => ({ key: t.eventId, value: touchpoints.serialize(topics.raw, t), partition })),
    });
    await producer.disconnect();

    const engine = new Engine(topology, {
      kafka: { brokers: stackEndpoints().brokers },
      stateDir: await mkdtemp(join(tmpdir(), 'lp-identity-')),
      guarantee: 'exactly_once',
      commitIntervalMs: 100,
      maxUncommittedRecords: 10_000,
      cacheEntriesPerStore: 10_000,
      partitionsConsumedConcurrently: 4,
      sessionTimeoutMs: 6_000,
      advertisedEndpoint: 'localhost:0',
      log: pino({ level: 'silent' }),
    });
    await engine.start();
    try {
      await eventually(async () => (await caughtUp(admin, appId, topics.raw)) && (await caughtUp(admin, appId, topics.links)), 'raw touchpoints and links processed');
    } finally {
      await engine.stop();
    }

    const serde = new AvroSerde<ProfileEventWire>(registry, SchemaCatalog.load(SCHEMAS_DIR).type('ProfileEvent'));
    // without the ingest and link tasks' progress markers (no key, no value: runtime/input-order.ts)
    const messages = (await readToEnd(kafka, topics.resolved)).filter((m) => m.value !== null);
    await serde.prepare(topics.resolved, messages.map((m) => m.value));
    const events: ProfileEvent[] = messages.map((m) => profileEventFromWire(serde.deserialize(topics.resolved, m.value!)));
    const mergedInto = new Map<string, string>();
    for (const e of events) if (e.body.kind === 'merge') mergedInto.set(e.body.loser, e.body.winner);
    const canonical = (profile: string): string => (mergedInto.has(profile) ? canonical(mergedInto.get(profile)!) : profile);

    const touchpointEvents = events.filter((e) => e.body.kind === 'touchpoint');
    // A touchpoint that reached a merged-away profile is re-addressed to the winner: the same event, again.
    expect(new Set(touchpointEvents.map((e) => (e.body as { touchpoint: Touchpoint }).touchpoint.eventId)).size).toBe(journey.length);
    const personOf = new Map(journey.map(({ t }, i) => [t.eventId, Math.floor(i / 6)]));
    const profilesPerPerson = new Map<number, Set<string>>();
    for (const e of touchpointEvents) {
      const person = personOf.get((e.body as { touchpoint: Touchpoint }).touchpoint.eventId)!;
      const set = profilesPerPerson.get(person) ?? new Set<string>();
      set.add(canonical(e.profileId));
      profilesPerPerson.set(person, set);
    }
    expect([...profilesPerPerson.values()].map((s) => s.size)).toEqual(Array(people).fill(1));
    const distinct = new Set([...profilesPerPerson.values()].map((s) => [...s][0]));
    expect(distinct.size).toBe(people);
  });
});
