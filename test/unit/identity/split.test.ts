import { configWarnings } from '../../../config/product';
import type { IdentityAudit } from '../../../processors/identity/audit';
import { profileIdFor } from '../../../processors/identity/identifiers';
import type { ProfileEntry, ProfileState } from '../../../processors/model/profile-state';
import { touchpoint, type Touchpoint } from '../../../processors/model/touchpoint';
import { pruneCounters } from '../../../processors/segmentation/counters';
import { commandId } from '../../../processors/triggers/eligibility';
import type { SegmentMembership } from '../../../processors/segmentation/segmentation-processor';
import { IDENTITY_GRAPH_STORE, PROFILES_STORE } from '../../../processors/stores';
import type { InProcessEngine } from '../../../runtime/in-process-engine';
import { DLQ_HEADERS } from '../../../runtime/records';
import { createPopulation, loadSimulatorConfig, TouchpointGenerator } from '../../../simulator';
import type { ProductConfig } from '../../../topology';
import { DAY, HOUR, identifierKey, productConfig, productDriver, T0, tp } from '../../support/product';

/**
 * Undoing a wrong merge (identity.yaml `reversibleMerges`), against ground
 * truth: a simulated population in which a customer logs in on someone
 * else's tablet (the shared-tablet case: the login links the
 * other person's cookie to the customer), and a call-centre agent corrects
 * it days later by naming the cookie. Each side's state must equal the
 * state of a golden run of the same population without that login, for
 * the fields the split rebuilds exactly (processors/identity/README.md,
 * "Corrections"); what was really sent to the merged profile stays with
 * the side whose touchpoint caused it.
 */
jest.setTimeout(120_000);

const DAYS = 14;
const WRONG_AT = T0 + 5 * DAY + 9 * HOUR;
const CORRECTED_AT = T0 + 9 * DAY + 11 * HOUR;

interface Scenario {
  /** The simulated population's, with the tablet owner's mortgage research while merged (`research`). */
  touchpoints: Touchpoint[];
  /** The customer who logged in on someone else's tablet. */
  customerId: string;
  /** The tablet's cookie: the other person's, and not a customer's. */
  cookie: string;
}

/** Web logins' merges can be undone here too (the shipped file keeps provenance for call-centre and branch merges only). */
function configWithWebUndoable(): ProductConfig {
  const config = productConfig();
  const reversible = config.identity.reversibleMerges!;
  return { ...config, identity: { ...config.identity, reversibleMerges: { ...reversible, linkChannels: [...reversible.linkChannels, 'web'] } } };
}

function simulated(): Touchpoint[] {
  const population = createPopulation({ seed: 5, people: 400, config: loadSimulatorConfig() });
  const generator = new TouchpointGenerator(population, { days: DAYS, start: T0 });
  const touchpoints: Touchpoint[] = [];
  for (let t = generator.take(); t; t = generator.take()) touchpoints.push(t);
  return touchpoints;
}

/**
 * The two people, chosen on the golden run so that the test means
 * something: both active before and after the wrong login, both with
 * engagement state of their own (pattern progress) for the split to tell
 * apart, the customer reachable, and older, so that the customer's profile
 * wins.
 */
async function chooseScenario(touchpoints: Touchpoint[], golden: InProcessEngine): Promise<Scenario> {
  const values = (type: string) => [...new Set(touchpoints.flatMap((t) => t.identifiers.filter((i) => i.type === type).map((i) => i.value)))];
  const rich = async (type: string, value: string) => {
    const p = await profileOf(golden, type, value).catch(() => undefined); // a value the simulator made unusable on purpose
    const active = p !== undefined && p.firstSeen < WRONG_AT && p.lastSeen > WRONG_AT + DAY;
    return active && causes(p).length > 0 ? p : undefined;
  };
  const cookies: [string, ProfileState][] = [];
  for (const cookie of values('anonymous_id')) {
    const p = await rich('anonymous_id', cookie);
    if (p && !p.identifiers.customer_id) cookies.push([cookie, p]);
  }
  const [cookie, other] = cookies.sort((a, b) => b[1].journey.length - a[1].journey.length || (a[0] < b[0] ? -1 : 1))[0] ?? [];
  if (!cookie || !other) throw new Error('no simulated tablet owner fits the scenario (seed 5)');
  for (const customerId of values('customer_id')) {
    const p = await rich('customer_id', customerId);
    // reachable by email for mortgage_calculator_repeat (see `research`), and not in its cooldown
    const reachable = p?.identifiers.email !== undefined && p.consent['email|marketing']?.value === true && p.engagement.lastFired.mortgage_calculator_repeat === undefined;
    if (p && reachable && p.firstSeen < other.firstSeen && Object.keys(p.segments).length > 0) return { touchpoints, customerId, cookie };
  }
  throw new Error('no simulated customer fits the scenario (seed 5)');
}

/**
 * The tablet owner looks at the mortgage calculator three times on the
 * tablet while it is merged with the customer: under the customer's profile
 * (reachable, with consent) that fires mortgage_calculator_repeat and sends
 * a command caused by the owner's touchpoint, which the split must give the
 * owner. Part of both runs: it is what the owner did.
 */
function research(touchpoints: Touchpoint[], cookie: string): Touchpoint[] {
  const owner = touchpoints.find((t) => t.identifiers.some((i) => i.type === 'anonymous_id' && i.value === cookie))!.eventId.split('.').slice(0, 2).join('.');
  const calculator = { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: 2, scrollPercent: 80, dwellMs: 90_000 };
  const views = [0, 1, 2].map((i) =>
    touchpoint({ eventId: `${owner}.tablet-${i}`, occurredAt: WRONG_AT + DAY + i * 20 * 60_000, channel: 'web', eventType: 'page_view', identifiers: [{ type: 'anonymous_id', value: cookie }], page: calculator }),
  );
  return [...touchpoints, ...views];
}

const wrongLogin = (s: Scenario): Touchpoint =>
  touchpoint({
    eventId: 'wrong-login',
    occurredAt: WRONG_AT,
    channel: 'web',
    eventType: 'login',
    authenticated: true,
    identifiers: [
      { type: 'customer_id', value: s.customerId },
      { type: 'anonymous_id', value: s.cookie },
    ],
  });

const correction = (s: Scenario, extra: Partial<Touchpoint> = {}): Touchpoint =>
  touchpoint({
    eventId: 'correction',
    occurredAt: CORRECTED_AT,
    channel: 'call_centre',
    eventType: 'identity_correction',
    authenticated: true,
    identifiers: [{ type: 'anonymous_id', value: s.cookie }],
    attributes: { reason: 'the customer logged in on a family tablet' },
    ...extra,
  });

async function run(touchpoints: Touchpoint[], config = configWithWebUndoable()): Promise<InProcessEngine> {
  const driver = await productDriver(4, config);
  const ordered = [...touchpoints].sort((a, b) => a.occurredAt - b.occurredAt);
  let piped = 0;
  for (const t of ordered) {
    driver.pipe('touchpoints.raw', Buffer.from(t.identifiers[0]!.value), t, { timestamp: t.occurredAt });
    // in slices, as a live engine interleaves identity and profiles
    if (++piped % 200 === 0) await driver.run();
  }
  await driver.run();
  return driver;
}

async function profileOf(d: InProcessEngine, type: string, raw: string): Promise<ProfileState> {
  const key = identifierKey(type, raw);
  const id = (await d.globalTable<string>(IDENTITY_GRAPH_STORE).get(key)) ?? profileIdFor(key);
  const entry = await d.storeValue<ProfileEntry>(PROFILES_STORE, id);
  if (!entry || 'mergedInto' in entry) throw new Error(`${type} ${raw}: no live profile ${id} (${JSON.stringify(entry)})`);
  return entry;
}

/** The fields a split rebuilds exactly, with counters as of one moment for both runs. */
function exactPart(profile: ProfileState, now: number) {
  const rules = productConfig().segments;
  const copy = structuredClone(profile);
  pruneCounters(copy, rules, now);
  const scores = Object.fromEntries(Object.entries(copy.scores).map(([name, s]) => [name, { at: s.at, value: Number(s.value.toPrecision(12)) }]));
  return {
    id: copy.id,
    firstSeen: copy.firstSeen,
    lastSeen: copy.lastSeen,
    identifiers: copy.identifiers,
    channels: copy.channels,
    journey: copy.journey,
    recentEventIds: copy.recentEventIds,
    traits: copy.traits,
    consent: copy.consent,
    timeZone: copy.timeZone,
    scores,
    counters: copy.counters,
    segments: Object.keys(copy.segments).sort(),
  };
}

/** Event ids the engagement section names as causes (pending firings, pattern progress). */
function causes(profile: ProfileState): string[] {
  const e = profile.engagement;
  return [
    ...e.pending.map((p) => p.causeEventId),
    ...Object.values(e.patterns).flatMap((p) => (p.kind === 'sequence' ? p.events.map((ev) => ev[1]) : p.starts.map((st) => st[1]))),
  ].filter((id) => !id.includes(':'));
}

/** Ids of the commands, hold-outs and exposures the engagement section holds. */
function decisions(profile: ProfileState): string[] {
  const e = profile.engagement;
  return [...e.sent.map((x) => x.commandId), ...e.heldOut.map((x) => x.decisionId), ...e.exposures.map((x) => x.commandId)];
}

/** The ids a decision for `profileId` caused by one of these touchpoints has (eligibility.ts commandId), for every rule. */
function decisionIds(profileId: string, eventIds: readonly string[]): Set<string> {
  const ids = new Set<string>();
  for (const rule of productConfig().triggers.triggers) for (const eventId of eventIds) ids.add(commandId(rule.id, profileId, eventId));
  return ids;
}

describe('undoing a wrong merge', () => {
  let s: Scenario;
  let golden: InProcessEngine;
  let corrected: InProcessEngine;

  beforeAll(async () => {
    const touchpoints = simulated();
    const chosen = await chooseScenario(touchpoints, await run(touchpoints));
    s = { ...chosen, touchpoints: research(touchpoints, chosen.cookie) };
    golden = await run(s.touchpoints);
    corrected = await run([...s.touchpoints, wrongLogin(s), correction(s)]);
  });

  it('the wrong login merged the two people until the correction', async () => {
    const audit = corrected.output<string, IdentityAudit>('identity.audit').map((o) => o.value!);
    const merge = audit.find((a) => a.kind === 'merge' && a.eventId === 'wrong-login');
    const split = audit.find((a) => a.kind === 'split');
    expect(merge).toBeDefined();
    expect(split).toEqual(
      expect.objectContaining({ eventId: 'correction', profileId: merge!.profileId, otherProfileId: merge!.otherProfileId, identifierType: 'anonymous_id' }),
    );
    expect(split!.detail).toMatch(/^call_centre corrected the merge made by wrong-login on .*: the customer logged in on a family tablet; \d+ identifiers point to /);
  });

  it('gives each side the state a run without the wrong login has, for every field rebuilt exactly', async () => {
    const now = T0 + DAYS * DAY;
    const customer = ['customer_id', s.customerId] as const;
    const caller = ['anonymous_id', s.cookie] as const;
    expect(exactPart(await profileOf(corrected, ...customer), now)).toEqual(exactPart(await profileOf(golden, ...customer), now));
    expect(exactPart(await profileOf(corrected, ...caller), now)).toEqual(exactPart(await profileOf(golden, ...caller), now));
    // and the two are different people again
    expect((await profileOf(corrected, ...customer)).id).not.toBe((await profileOf(corrected, ...caller)).id);
  });

  it('leaves each side only what its own touchpoints caused: commands, hold-outs, exposures, pending firings, pattern progress', async () => {
    // the simulator's event ids start with the person's tag and index
    const personOf = (eventId: string) => eventId.split('.').slice(0, 2).join('.');
    const callerPerson = personOf(s.touchpoints.find((t) => t.identifiers.some((i) => i.type === 'anonymous_id' && i.value === s.cookie))!.eventId);
    const callersEvents = s.touchpoints.filter((t) => personOf(t.eventId) === callerPerson).map((t) => t.eventId);
    const customer = await profileOf(corrected, 'customer_id', s.customerId);
    const caller = await profileOf(corrected, 'anonymous_id', s.cookie);
    // what the caller's touchpoints caused while merged (under the customer's id), and on their own
    const callersWhileMerged = decisionIds(customer.id, callersEvents);
    const callersOwn = decisionIds(caller.id, callersEvents);
    // the command the owner's research caused while merged is the owner's now
    expect(decisions(caller).filter((id) => callersWhileMerged.has(id)).length).toBeGreaterThan(0);
    expect(decisions(customer).filter((id) => callersWhileMerged.has(id) || callersOwn.has(id))).toEqual([]);
    expect(decisions(caller).filter((id) => !callersWhileMerged.has(id) && !callersOwn.has(id))).toEqual([]);
    expect(causes(customer).filter((id) => personOf(id) === callerPerson)).toEqual([]);
    expect(causes(caller).filter((id) => personOf(id) !== callerPerson)).toEqual([]);
  });

  it('emits the segment changes of the split, so that the membership topic ends where each side is', async () => {
    const memberships = corrected.output<string, SegmentMembership>('segments.membership').map((o) => o.value!);
    for (const [type, value] of [
      ['customer_id', s.customerId],
      ['anonymous_id', s.cookie],
    ] as const) {
      const profile = await profileOf(corrected, type, value);
      const now = new Set<string>();
      for (const m of memberships.filter((x) => x.profileId === profile.id)) {
        if (m.change === 'enter') now.add(m.segment);
        else now.delete(m.segment);
      }
      expect([...now].sort()).toEqual(Object.keys(profile.segments).sort());
    }
    const viewed = new Set(corrected.output<string, unknown>('profiles.view').filter((o) => o.value !== null).map((o) => o.key));
    expect(viewed.has((await profileOf(corrected, 'anonymous_id', s.cookie)).id)).toBe(true);
  });

  it('keeps no provenance of the undone merge, and sends what still reaches the survivor with the restored side\'s identifiers there', async () => {
    const customer = await profileOf(corrected, 'customer_id', s.customerId);
    const restored = await profileOf(corrected, 'anonymous_id', s.cookie);
    expect(customer.provenance?.merges.map((m) => m.causeEventId) ?? []).not.toContain('wrong-login');
    expect(customer.provenance?.handedOver).toEqual([expect.objectContaining({ to: restored.id, identifiers: expect.arrayContaining([identifierKey('anonymous_id', s.cookie)]) })]);
    expect(restored.provenance).toBeUndefined();
  });
});

describe('replaying the same input twice', () => {
  it('gives the same outputs, splits included', async () => {
    const touchpoints = simulated().slice(0, 4000);
    // a customer linked by a login early on, and a cookie never linked to anything: the customer's profile is the older
    const login = touchpoints.find((t) => t.eventType === 'login' && t.authenticated && t.identifiers.length > 1 && t.identifiers.some((i) => i.type === 'customer_id'))!;
    const customer = login.identifiers.find((i) => i.type === 'customer_id')!.value;
    const linked = new Set(touchpoints.filter((t) => t.identifiers.length > 1).flatMap((t) => t.identifiers.map((i) => i.value)));
    const cookie = touchpoints.find((t) => t.identifiers.length === 1 && t.identifiers[0]!.type === 'anonymous_id' && !linked.has(t.identifiers[0]!.value))!.identifiers[0]!.value;
    const s: Scenario = { touchpoints, customerId: customer, cookie };
    const input = [...touchpoints, wrongLogin(s), correction(s)];
    const outputs = async () => {
      const d = await run(input);
      const topics = ['identity.audit', 'segments.membership', 'engagement.commands', 'engagement.decisions', 'profiles.view', 'touchpoints.resolved'];
      const audited = d.output<string, IdentityAudit>('identity.audit').map((o) => o.value!.kind);
      return { audited, records: topics.map((topic) => d.output(topic).map((o) => [o.key, o.raw.value?.toString('base64') ?? null])) };
    };
    const first = await outputs();
    expect(first.audited).toContain('split');
    expect(await outputs()).toEqual(first);
  });
});

describe('config: reversible merges and forwarding pointers', () => {
  it('warns at start-up when forwarding pointers expire before a merge can no longer be undone, and not for the shipped files', () => {
    const shipped = productConfig();
    expect(configWarnings(shipped)).toEqual([]);
    const short = { ...shipped, profile: { ...shipped.profile, retention: { ...shipped.profile.retention, pointersFor: DAY } } };
    expect(configWarnings(short)).toEqual([expect.stringMatching(/^identity\.yaml reversibleMerges\.horizon \(7d\) is longer than profile\.yaml retention\.forwardingPointersFor/)]);
  });
});

describe('identity corrections that cannot be applied', () => {
  const customerLogin = (at: number) =>
    tp(at, 'call_centre', 'call', { customer_id: 'C-9', email: 'nine@example.com' }, { authenticated: true });
  const stranger = (at: number) => tp(at, 'web', 'page_view', { email: 'someone@example.com', anonymous_id: 'cookie-s' });

  it('refuses a correction from a channel that may not correct, to the dead-letter topic with the reason', async () => {
    const d = await run([customerLogin(T0), tp(T0 + HOUR, 'web', 'identity_correction', { email: 'nine@example.com' }, { authenticated: true })]);
    const dead = d.output('touchpoints.raw.dlq');
    expect(dead.map((o) => [o.headers[DLQ_HEADERS.kind], o.headers[DLQ_HEADERS.message]])).toEqual([
      [
        'invalid-record',
        expect.stringMatching(/an identity_correction from channel web is not trusted \(identity\.yaml reversibleMerges\.correctionChannels: call_centre, branch, profile_api\)/),
      ],
    ]);
  });

  it('keeps a correction of an identifier no undoable merge brought in waiting for the horizon, then refuses it', async () => {
    const input = [
      stranger(T0),
      customerLogin(T0 + HOUR),
      // a web login links the stranger's cookie: web is not one of reversibleMerges.linkChannels
      tp(T0 + 2 * HOUR, 'web', 'login', { customer_id: 'C-9', anonymous_id: 'cookie-s' }, { authenticated: true }),
      tp(T0 + 3 * HOUR, 'call_centre', 'identity_correction', { anonymous_id: 'cookie-s' }, { authenticated: true }),
      tp(T0 + 4 * HOUR, 'call_centre', 'identity_correction', { email: 'nine@example.com' }, { authenticated: true }),
    ];
    const audits = (d: InProcessEngine) => d.output<string, IdentityAudit>('identity.audit').map((o) => o.value!).filter((a) => a.kind.startsWith('correction'));
    const waiting = audits(await run(input, productConfig()));
    expect(waiting.map((a) => [a.kind, a.identifierType])).toEqual([
      ['correction-pending', 'anonymous_id'],
      ['correction-pending', 'email'],
    ]);
    expect(waiting[0]!.detail).toMatch(/no merge into profile p-\S+ that can still be undone brought its anonymous_id .*; it waits until 2026-10-08T12:00:00.000Z/);
    // a later link event moves the link task's event time past the horizon
    const later = await run([...input, customerLogin(T0 + 8 * DAY)], productConfig());
    expect(audits(later).map((a) => `${a.kind} ${a.identifierType}`).sort()).toEqual([
      'correction-pending anonymous_id',
      'correction-pending email',
      'correction-refused anonymous_id',
      'correction-refused email',
    ]);
    expect(later.output<string, IdentityAudit>('identity.audit').map((o) => o.value!.kind)).not.toContain('split');
  });

  it("hands the restored person the identifiers their own touchpoints linked while merged", async () => {
    const d = await productDriver(1, productConfig());
    const input = [
      tp(T0, 'web', 'page_view', { anonymous_id: 'cookie-s' }),
      customerLogin(T0 + HOUR),
      tp(T0 + 2 * HOUR, 'call_centre', 'call', { customer_id: 'C-9', anonymous_id: 'cookie-s' }, { authenticated: true }),
      // the tablet's owner signs in to the app on the tablet: their device joins the merged profile
      tp(T0 + 3 * HOUR, 'app', 'login', { anonymous_id: 'cookie-s', device_id: 'device-s' }, { authenticated: true }),
      tp(T0 + DAY, 'call_centre', 'identity_correction', { anonymous_id: 'cookie-s' }, { authenticated: true }),
    ];
    for (const t of input) d.pipe('touchpoints.raw', Buffer.from(t.identifiers[0]!.value), t, { timestamp: t.occurredAt });
    await d.run();
    const owner = await profileOf(d, 'anonymous_id', 'cookie-s');
    expect((await profileOf(d, 'device_id', 'device-s')).id).toBe(owner.id);
    expect((await profileOf(d, 'customer_id', 'C-9')).id).not.toBe(owner.id);
    expect(owner.identifiers.device_id).toEqual([identifierKey('device_id', 'device-s')]);
    expect(d.producedRecords.some((r) => r.topic === 'identity.links' && r.value?.includes('split_identifiers'))).toBe(true);
  });

  it('applies a correction that reached the link log before the merge it corrects, once the merge is made', async () => {
    const wrongCall = tp(T0 + 2 * HOUR, 'call_centre', 'call', { customer_id: 'C-9', anonymous_id: 'cookie-s' }, { authenticated: true });
    const fix = tp(T0 + DAY, 'call_centre', 'identity_correction', { anonymous_id: 'cookie-s' }, { authenticated: true });
    const d = await productDriver(1, productConfig());
    const browsing = tp(T0, 'web', 'page_view', { anonymous_id: 'cookie-s' });
    for (const t of [browsing, customerLogin(T0 + HOUR), fix, wrongCall]) d.pipe('touchpoints.raw', Buffer.from(t.identifiers[0]!.value), t, { timestamp: t.occurredAt });
    await d.run();
    const kinds = d.output<string, IdentityAudit>('identity.audit').map((o) => o.value!).filter((a) => a.eventId === fix.eventId || a.eventId === wrongCall.eventId).map((a) => `${a.kind} ${a.eventId === fix.eventId ? 'fix' : 'call'}`);
    expect(kinds).toEqual(['correction-pending fix', 'merge call', 'split fix']);
    const cookie = await profileOf(d, 'anonymous_id', 'cookie-s');
    const customer = await profileOf(d, 'customer_id', 'C-9');
    expect(cookie.id).not.toBe(customer.id);
    expect(cookie.journey.map((j) => j.eventType)).toEqual(['page_view']);
  });
});
