import type { IdentityAudit } from '../../../processors/identity/audit';
import { profileIdFor } from '../../../processors/identity/identifiers';
import type { ProfileEntry, ProfileState } from '../../../processors/model/profile-state';
import { touchpoint } from '../../../processors/model/touchpoint';
import type { SegmentMembership } from '../../../processors/segmentation/segmentation-processor';
import { IDENTITY_GRAPH_STORE, PROFILES_STORE } from '../../../processors/stores';
import type { InProcessEngine } from '../../../runtime/in-process-engine';
import { DLQ_HEADERS } from '../../../runtime/records';
import type { ProductConfig } from '../../../topology';
import { DAY, HOUR, identifierKey, productConfig, productDriver, T0, tp } from '../../support/product';

/**
 * Retention (profile.yaml `retention`) on the whole product, in process:
 * a person inactive for `inactiveAfter` in event time is forgotten
 * everywhere the engine keeps them, a busy person is not, and a forwarding
 * pointer goes `forwardingPointersFor` after its merge.
 */
const INACTIVE_AFTER = 30 * DAY;
const POINTERS_FOR = 7 * DAY;

function configWith(retention: ProductConfig['profile']['retention']): ProductConfig {
  const config = productConfig();
  return { ...config, profile: { ...config.profile, retention } };
}

async function driver(retention: ProductConfig['profile']['retention'] = { inactiveAfter: INACTIVE_AFTER, pointersFor: POINTERS_FOR }): Promise<InProcessEngine> {
  return productDriver(1, configWith(retention));
}

function pipe(d: InProcessEngine, t: ReturnType<typeof tp>): void {
  d.pipe('touchpoints.raw', Buffer.from(t.identifiers[0]!.value), t, { timestamp: t.occurredAt });
}

const customer = (at: number, id = 'C-1') =>
  tp(at, 'online_banking', 'login', { customer_id: id, device_id: `dev-${id}`, email: `${id.toLowerCase()}@example.com` }, { authenticated: true });
/** Someone else's touchpoint: moves the (single) partition's stream time. */
const someoneElse = (at: number) => tp(at, 'web', 'page_view', { anonymous_id: `cookie-${at}` });

/** Changelog records of the profile node's timer for a profile (the task store's changelog holds the task's timers). */
const profileTimerWrites = (d: InProcessEngine, id?: string) =>
  d.producedRecords.filter((r) => r.topic.endsWith('touchpoints.resolved-task-changelog') && r.key?.toString('latin1').startsWith(`timer:profile\u0000${id ?? ''}`)).length;

const graph = (d: InProcessEngine, type: string, raw: string) => d.globalTable<string>(IDENTITY_GRAPH_STORE).get(identifierKey(type, raw));
const profileOf = async (d: InProcessEngine, id = 'C-1') => (await graph(d, 'customer_id', id)) ?? profileIdFor(identifierKey('customer_id', id));

describe('retention', () => {
  it('forgets a person inactive for inactiveAfter: profile, view, segments, identity graph, with an audit record', async () => {
    const d = await driver();
    for (let i = 0; i < 6; i++) pipe(d, customer(T0 + i * HOUR));
    pipe(d, tp(T0 + 7 * HOUR, 'web', 'page_view', { customer_id: 'C-1' }, { page: { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: null, scrollPercent: null, dwellMs: null } }));
    await d.run();
    const id = await profileOf(d);
    const before = (await d.storeValue<ProfileEntry>(PROFILES_STORE, id)) as ProfileState;
    expect(before.lastSeen).toBe(T0 + 7 * HOUR);
    const segments = Object.keys(before.segments).sort();

    pipe(d, someoneElse(T0 + 7 * HOUR + INACTIVE_AFTER - 1));
    await d.run();
    expect(await d.storeValue(PROFILES_STORE, id)).toBeDefined();

    pipe(d, someoneElse(T0 + 7 * HOUR + INACTIVE_AFTER));
    await d.run();
    expect(await d.storeValue(PROFILES_STORE, id)).toBeUndefined();
    expect(await graph(d, 'customer_id', 'C-1')).toBeUndefined();
    expect(await graph(d, 'email', 'c-1@example.com')).toBeUndefined();
    expect(await graph(d, 'device_id', 'dev-C-1')).toBeUndefined();
    const views = d.output<string, unknown>('profiles.view').filter((o) => o.key === id);
    expect(views.at(-1)!.value).toBeNull();
    const exits = d.output<string, SegmentMembership>('segments.membership').filter((o) => o.key === id && o.value!.reason === 'retention');
    expect(exits.map((o) => o.value!.segment).sort()).toEqual(segments);
    const audit = d.output<string, IdentityAudit>('identity.audit').map((o) => o.value!).filter((a) => a.kind === 'retention');
    expect(audit).toEqual([expect.objectContaining({ profileId: id, detail: `no touchpoint since ${new Date(T0 + 7 * HOUR).toISOString()}: released 3 identifiers` })]);

    // What compaction keeps of every compacted topic (the latest record per key) holds nothing of the person
    // once the timers other nodes had set for them have fired.
    pipe(d, someoneElse(T0 + 7 * HOUR + 2 * INACTIVE_AFTER));
    await d.run();
    const theirs = [id, ...Object.values(before.identifiers).flat()];
    const compacted = (topic: string) => topic.endsWith('-changelog') || topic === 'profiles.view';
    const latest = new Map<string, Buffer | null>();
    for (const r of d.producedRecords) {
      const key = r.key?.toString('latin1') ?? '';
      if (compacted(r.topic) && theirs.some((k) => key.includes(k))) latest.set(`${r.topic} ${JSON.stringify(key)}`, r.value);
    }
    expect(latest.size).toBeGreaterThan(theirs.length);
    expect([...latest].filter(([, value]) => value !== null).map(([key]) => key)).toEqual([]);
  });

  it('keeps a person who keeps coming back, with one timer move per inactiveAfter rather than per touchpoint', async () => {
    const d = await driver();
    for (let day = 0; day <= 50; day += 5) {
      pipe(d, customer(T0 + day * DAY));
      await d.run(); // a commit each: the changelog shows every timer change, not only the last of a commit
    }
    const id = await profileOf(d);
    // 11 touchpoints over 50 days: set once when the profile began, moved once when it fired on day 30.
    expect(profileTimerWrites(d, id)).toBe(2);
    expect(await d.storeValue(PROFILES_STORE, id)).toBeDefined();

    pipe(d, someoneElse(T0 + 50 * DAY + INACTIVE_AFTER));
    await d.run();
    expect(await d.storeValue(PROFILES_STORE, id)).toBeUndefined();
  });

  it('starts a person who returns after being forgotten as someone new', async () => {
    const d = await driver();
    pipe(d, customer(T0));
    pipe(d, someoneElse(T0 + INACTIVE_AFTER + DAY));
    await d.run();
    pipe(d, customer(T0 + INACTIVE_AFTER + 2 * DAY));
    await d.run();
    const profile = (await d.storeValue<ProfileEntry>(PROFILES_STORE, await profileOf(d))) as ProfileState;
    expect(profile.firstSeen).toBe(T0 + INACTIVE_AFTER + 2 * DAY);
    expect(profile.journey).toHaveLength(1);
    expect(await graph(d, 'email', 'c-1@example.com')).toBe(profile.id);
  });

  it('keeps a person who comes back while the graph releases them, history and identifiers alike', async () => {
    const d = await driver();
    pipe(d, customer(T0));
    // All in one go: the return reaches the identity graph's writer before the release, and the profile before the erase.
    pipe(d, someoneElse(T0 + INACTIVE_AFTER + DAY));
    pipe(d, customer(T0 + INACTIVE_AFTER + 2 * DAY));
    await d.run();
    const id = await profileOf(d);
    const profile = (await d.storeValue<ProfileEntry>(PROFILES_STORE, id)) as ProfileState;
    expect({ firstSeen: profile.firstSeen, journey: profile.journey.length }).toEqual({ firstSeen: T0, journey: 2 });
    for (const [type, raw] of [['customer_id', 'C-1'], ['email', 'c-1@example.com'], ['device_id', 'dev-C-1']] as const) expect(await graph(d, type, raw)).toBe(id);
    const audit = d.output<string, IdentityAudit>('identity.audit').map((o) => o.value!).filter((a) => a.kind === 'retention');
    expect(audit.map((a) => a.detail)).toEqual([expect.stringMatching(/released 3 identifiers$/), 'came back before being forgotten: 3 identifiers linked again']);
    // and is forgotten once truly inactive
    pipe(d, someoneElse(T0 + 2 * INACTIVE_AFTER + 3 * DAY));
    await d.run();
    expect(await d.storeValue(PROFILES_STORE, id)).toBeUndefined();
  });

  it('removes a forwarding pointer forwardingPointersFor after its merge, not before', async () => {
    const d = await driver();
    pipe(d, tp(T0, 'web', 'page_view', { anonymous_id: 'cookie-a' }));
    pipe(d, customer(T0 + HOUR));
    pipe(d, tp(T0 + 2 * HOUR, 'web', 'login', { anonymous_id: 'cookie-a', customer_id: 'C-1' }, { authenticated: true }));
    await d.run();
    const loser = profileIdFor(identifierKey('anonymous_id', 'cookie-a'));
    expect(await d.storeValue(PROFILES_STORE, loser)).toEqual(expect.objectContaining({ mergedInto: await profileOf(d) }));

    pipe(d, someoneElse(T0 + 2 * HOUR + POINTERS_FOR - 1));
    await d.run();
    expect(await d.storeValue(PROFILES_STORE, loser)).toBeDefined();
    pipe(d, someoneElse(T0 + 2 * HOUR + POINTERS_FOR));
    await d.run();
    expect(await d.storeValue(PROFILES_STORE, loser)).toBeUndefined();
    expect(await d.storeValue(PROFILES_STORE, await profileOf(d))).toEqual(expect.objectContaining({ lastSeen: T0 + 2 * HOUR }));
  });

  it('keeps everyone and every pointer when retention is left out', async () => {
    const d = await driver({ inactiveAfter: null, pointersFor: null });
    pipe(d, tp(T0, 'web', 'page_view', { anonymous_id: 'cookie-a' }));
    pipe(d, tp(T0 + HOUR, 'web', 'login', { anonymous_id: 'cookie-a', customer_id: 'C-1' }, { authenticated: true }));
    pipe(d, someoneElse(T0 + 1000 * DAY));
    await d.run();
    expect(await d.storeValue(PROFILES_STORE, await profileOf(d))).toBeDefined();
    expect(await graph(d, 'anonymous_id', 'cookie-a')).toBeDefined();
    expect(profileTimerWrites(d)).toBe(0);
  });

  it('dead-letters a touchpoint dated further ahead of its record than input.maxFutureSkew, so it cannot make everyone look inactive', async () => {
    const d = await driver();
    pipe(d, customer(T0));
    await d.run();
    const id = await profileOf(d);
    // a device whose clock says 2099, produced now
    const wrongClock = someoneElse(Date.UTC(2099, 0, 1));
    d.pipe('touchpoints.raw', Buffer.from('wrong-clock'), wrongClock, { timestamp: T0 + HOUR });
    await d.run();
    const dead = d.output('touchpoints.raw.dlq');
    expect(dead.map((o) => [o.headers[DLQ_HEADERS.kind], o.headers[DLQ_HEADERS.message]])).toEqual([
      ['invalid-record', expect.stringMatching(/occurredAt 2099-01-01T00:00:00.000Z is more than 1d ahead of its record's timestamp .* \(identity.yaml input.maxFutureSkew\)/)],
    ]);
    expect(await d.storeValue(PROFILES_STORE, id)).toBeDefined();
    // a day ahead is a clock a little off: accepted
    const slightlyAhead = someoneElse(T0 + 2 * HOUR + 23 * HOUR);
    d.pipe('touchpoints.raw', Buffer.from('slightly-ahead'), slightlyAhead, { timestamp: T0 + 2 * HOUR });
    await d.run();
    expect(d.output('touchpoints.raw.dlq')).toHaveLength(1);
  });

  it('gives the same records, byte for byte, when the same input is replayed twice', async () => {
    const input = [
      tp(T0, 'web', 'page_view', { anonymous_id: 'cookie-a' }),
      ...[0, 1, 2, 3].map((i) => customer(T0 + i * HOUR)),
      tp(T0 + 5 * HOUR, 'web', 'login', { anonymous_id: 'cookie-a', customer_id: 'C-1' }, { authenticated: true }),
      customer(T0 + 10 * DAY, 'C-2'),
      someoneElse(T0 + INACTIVE_AFTER + 11 * DAY),
      customer(T0 + INACTIVE_AFTER + 12 * DAY),
      someoneElse(T0 + 3 * INACTIVE_AFTER),
    ];
    const run = async () => {
      const d = await driver();
      for (const t of input) pipe(d, t);
      await d.run();
      return {
        forgotten: d.output<string, IdentityAudit>('identity.audit').filter((o) => o.value!.kind === 'retention').length,
        records: d.producedRecords.map((r) => [r.topic, r.partition, r.key?.toString('base64') ?? null, r.value?.toString('base64') ?? null, r.timestamp]),
      };
    };
    const first = await run();
    expect(first.forgotten).toBeGreaterThanOrEqual(3);
    expect(await run()).toEqual(first);
  });

  it("refuses a channel's touchpoint that claims the engine's own retention event, to the dead-letter topic", async () => {
    const d = await driver();
    const forged = touchpoint({ eventId: 'forged-1', occurredAt: T0, channel: 'web', eventType: 'retention_expired', identifiers: [{ type: 'customer_id', value: 'C-1' }], attributes: { profileId: 'p-x' } });
    d.pipe('touchpoints.raw', Buffer.from('C-1'), forged, { timestamp: T0 });
    await d.run();
    const dead = d.output('touchpoints.raw.dlq');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers[DLQ_HEADERS.message]).toMatch(/retention_expired is the engine's own/);
    expect(d.output('identity.links')).toHaveLength(0);
  });
});
