import { createHash } from 'node:crypto';
import type { IdentityAudit } from '../../../processors/identity/audit';
import type { ProfileEvent } from '../../../processors/model/profile-event';
import { touchpoint, type Touchpoint } from '../../../processors/model/touchpoint';
import type { SegmentMembership } from '../../../processors/segmentation/segmentation-processor';
import { HOSTILE_KINDS, hostileRecords, type HostileOptions, type HostileRecord } from '../../../proof/hostile';
import { accountHostile, type SentRecord } from '../../../proof/hostile-check';
import { InProcessEngine } from '../../../runtime/in-process-engine';
import { partitionForKey } from '../../../runtime/kafka/partitioner';
import { AvroSerde } from '../../../runtime/serde/avro-serde';
import { InMemoryRegistry } from '../../../runtime/serde/registry';
import { SchemaCatalog } from '../../../runtime/serde/schema-catalog';
import { buildTopology, SCHEMAS_DIR, topicNames } from '../../../topology';
import { MINUTE, T0, productConfig } from '../../support/product';

jest.setTimeout(60_000);

const PARTITIONS = 4;
const topics = topicNames();
const catalog = SchemaCatalog.load(SCHEMAS_DIR);

/**
 * The product topology on the driver, built here rather than with
 * productDriver() so that the test holds the registry: the generator's
 * touchpoints must carry the id the engine registered, and the other schema
 * must be one the registry knows.
 */
async function setup(): Promise<{ driver: InProcessEngine; registry: InMemoryRegistry; encoders: Pick<HostileOptions, 'encode' | 'encodeOther' | 'unknownSchemaId'> }> {
  const registry = new InMemoryRegistry();
  const driver = await InProcessEngine.create(buildTopology({ appId: 'lp-test', partitions: PARTITIONS, config: productConfig(), registry }));
  const touchpoints = new AvroSerde<Touchpoint>(registry, catalog.type('Touchpoint'));
  await touchpoints.init(topics.raw);
  const memberships = new AvroSerde<SegmentMembership>(registry, catalog.type('SegmentMembership'));
  await memberships.init('hostile.other');
  return {
    driver,
    registry,
    encoders: {
      encode: (t) => touchpoints.serialize(topics.raw, t),
      encodeOther: (m) => memberships.serialize('hostile.other', m),
      unknownSchemaId: 9_999,
    },
  };
}

/** Valid touchpoints sent after the hostile ones: mostly page views, every fifth a login that goes through identity.links. */
/** When the records reach Kafka: after the hostile records' 30 days from T0 (input.maxFutureSkew compares with it). */
const PRODUCED_AT = T0 + 60 * 24 * 60 * MINUTE;

function validTouchpoints(n: number): Touchpoint[] {
  return Array.from({ length: n }, (_, i) =>
    i % 5 === 0
      ? touchpoint({ eventId: `valid-${i}`, occurredAt: T0 + i * MINUTE, channel: 'app', eventType: 'login', authenticated: true, identifiers: [{ type: 'customer_id', value: `VC-${i}` }, { type: 'device_id', value: `vd-${i}` }] })
      : touchpoint({ eventId: `valid-${i}`, occurredAt: T0 + i * MINUTE, channel: 'web', eventType: 'page_view', identifiers: [{ type: 'anonymous_id', value: `va-${i}` }] }),
  );
}

async function counterTotal(counter: { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l)).reduce((sum, v) => sum + v.value, 0);
}

/** A record as one comparable line: jest compares Buffers byte by byte, far too slowly for 200 kB values. */
function fingerprint(r: HostileRecord): string {
  const digest = (b: Buffer | null) => (b === null ? 'null' : createHash('sha256').update(b).digest('hex'));
  return `${r.index} ${r.kind} ${digest(r.key)} ${digest(r.value)} ${r.eventId} ${JSON.stringify(r.expect)}`;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

describe('hostile records for touchpoints.raw', () => {
  it('are the same bytes for the same seed, other bytes for another seed, and cover every kind evenly', async () => {
    const { encoders } = await setup();
    const make = (seed: number, count: number) => hostileRecords({ ...encoders, seed, count, tag: 'unit' });
    const a = make(7, 400);
    const again = make(7, 400);
    const other = make(8, 400);

    expect(a.map(fingerprint)).toEqual(again.map(fingerprint));
    // The first records do not depend on how many are asked for.
    expect(make(7, 50).map(fingerprint)).toEqual(a.slice(0, 50).map(fingerprint));
    const differing = a.filter((r, i) => !sameBytes(r.value, other[i]!.value)).map((r) => r.kind);
    // Only the records that carry nothing of the seed may repeat: zero bytes and no bytes.
    expect(new Set(HOSTILE_KINDS.filter((k) => !differing.includes(k)))).toEqual(new Set(['empty-value', 'null-value']));

    const perKind = new Map<string, number>();
    for (const r of a) perKind.set(r.kind, (perKind.get(r.kind) ?? 0) + 1);
    expect([...perKind.keys()].sort()).toEqual([...HOSTILE_KINDS].sort());
    for (const n of perKind.values()) expect(n).toBeGreaterThanOrEqual(400 / (HOSTILE_KINDS.length * 2));

    // Event ids are unique, except a duplicate's, which is its original's, with the original's exact bytes.
    const ids = a.filter((r) => r.eventId !== undefined && r.kind !== 'duplicate-event-id').map((r) => r.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const d of a.filter((r) => r.expect.outcome === 'duplicate')) {
      const original = a[(d.expect as { original: number }).original]!;
      expect(original.index).toBeLessThan(d.index);
      expect(original.kind).toBe('null-key');
      expect(d.eventId).toBe(original.eventId);
      expect(d.value!.equals(original.value!)).toBe(true);
    }
    // Records stay under the broker's 1 MB limit.
    expect(Math.max(...a.map((r) => r.value?.length ?? 0))).toBeLessThan(1_000_000);
  });

  it('writes the invalid UTF-8, huge and out-of-range values it promises', async () => {
    const { encoders } = await setup();
    const records = hostileRecords({ ...encoders, seed: 3, count: HOSTILE_KINDS.length, tag: 'unit' });
    const one = (kind: string) => records.find((r) => r.kind === kind)!;
    const decode = (r: HostileRecord) => catalog.type('Touchpoint').fromBuffer(r.value!.subarray(5)) as Touchpoint;

    expect(one('random-bytes').value![0]).not.toBe(0);
    expect(one('wrong-magic-byte').value![0]).toBe(1);
    expect(one('unknown-schema-id').value!.readInt32BE(1)).toBe(9_999);
    expect(one('empty-value').value).toHaveLength(0);
    expect(one('null-value').value).toBeNull();
    expect(one('null-key').key).toBeNull();
    expect(decode(one('invalid-utf8')).eventId).toContain('\uFFFD');
    expect(decode(one('invalid-utf8')).eventId).toBe(one('invalid-utf8').eventId);
    const huge = decode(one('huge-string'));
    expect(Math.max(huge.searchTerms?.length ?? 0, huge.page?.path?.length ?? 0)).toBeGreaterThanOrEqual(200_000);
    expect(Object.keys(decode(one('huge-map')).attributes)).toHaveLength(5_000);
    expect(decode(one('occurred-at-seconds')).occurredAt).toBeLessThan(Date.UTC(2000, 0, 1));
    expect(decode(one('occurred-at-far-future')).occurredAt).toBeGreaterThanOrEqual(Date.UTC(2200, 0, 1));
    expect(decode(one('occurred-at-negative')).occurredAt).toBeLessThan(0);
    expect(decode(one('identifier-too-long')).identifiers).toEqual([{ type: 'device_id', value: expect.stringMatching(/^[0-9a-f]{9000}$/) }]);
    expect(() => decode(one('truncated-avro'))).toThrow();
  });

  it('each end up where the contract says on the in-process driver, and valid touchpoints after them are processed', async () => {
    const { driver, registry, encoders } = await setup();
    await expect(registry.schemaById(encoders.unknownSchemaId)).rejects.toThrow(/not registered/);
    const hostile = hostileRecords({ ...encoders, seed: 42, count: 1_000, tag: 'unit' });
    const valid = validTouchpoints(200);

    // Offsets per partition, to find each input again from the dead-letter headers.
    const inputs: SentRecord[] = [];
    const next = new Array<number>(PARTITIONS).fill(0);
    const send = (record: HostileRecord | undefined, key: Buffer | null, value: Buffer | null, eventId: string | undefined) => {
      const partition = key === null ? 0 : partitionForKey(key, PARTITIONS);
      inputs.push({ record, eventId, partition, offset: next[partition]!++, key, value });
      // produced after every event it carries, as live (the proof produces at Date.now())
      driver.pipeRaw(topics.raw, key, value, { partition, timestamp: PRODUCED_AT });
    };
    for (const r of hostile) send(r, r.key, r.value, r.eventId);
    for (const t of valid) send(undefined, Buffer.from(t.eventId), encoders.encode(t), t.eventId);
    await driver.run();

    const dlqTopic = driver.topology.deadLetterTopic(topics.raw);
    const resolvedTouchpoints = driver
      .output<string, ProfileEvent>(topics.resolved)
      .map((o) => o.value!)
      .flatMap((e) => (e.body.kind === 'touchpoint' ? [e.body.touchpoint.eventId] : []));
    const linked = driver.output<string, Touchpoint>(topics.links).map((o) => o.value!.eventId);
    const account = accountHostile(
      inputs,
      {
        deadLetters: driver.producedRecords.filter((r) => r.topic === dlqTopic),
        resolved: resolvedTouchpoints,
        linked,
        audits: driver.output<string, IdentityAudit>(topics.audit).map((o) => o.value!),
      },
      topics.raw,
    );
    expect(account.problems).toEqual([]);

    // Records in = processed + dead-lettered, exactly, and by the engine's own counts.
    expect(account.processed + account.deadLettered).toBe(inputs.length);
    expect(account.deadLettered).toBe(hostile.filter((r) => r.expect.outcome === 'dead-letter').length);
    expect(await counterTotal(driver.metrics.recordsIn, { topic: topics.raw })).toBe(inputs.length);
    expect(await counterTotal(driver.metrics.deadLettered, { topic: topics.raw })).toBe(account.deadLettered);
    // Nothing else dead-lettered.
    expect(driver.producedRecords.filter((r) => r.topic.endsWith('.dlq') && r.topic !== dlqTopic).map((r) => r.topic)).toEqual([]);

    // Valid touchpoints after the hostile ones: every one reaches the profiles, logins through the link log.
    expect(valid.filter((t) => !resolvedTouchpoints.includes(t.eventId)).map((t) => t.eventId)).toEqual([]);
    expect(valid.filter((t) => t.eventType === 'login' && !linked.includes(t.eventId)).map((t) => t.eventId)).toEqual([]);

    // A duplicate reaches the profile task again and is dropped there, once per duplicate.
    const duplicates = hostile.filter((r) => r.expect.outcome === 'duplicate');
    expect(duplicates.length).toBeGreaterThan(0);
    expect(await counterTotal(driver.metrics.domainEvents, { processor: 'profile', event: 'duplicate' })).toBe(duplicates.length);
    expect(hostile.some((r) => r.expect.outcome === 'processed' && r.expect.audit)).toBe(true);
  });
});
