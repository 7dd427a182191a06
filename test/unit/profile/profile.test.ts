import { parseConfigFile } from '../../../config/load';
import { profileFile } from '../../../processors/profile/config';
import { PROFILES_STORE } from '../../../processors/stores';
import { profileEntrySerde } from '../../../processors/profile/serde';
import { profileView } from '../../../processors/profile/view';
import { beginMerge } from '../../../processors/profile/provenance';
import { emptyProfile, type ProfileState } from '../../../processors/model/profile-state';
import { ConfigError } from '../../../runtime/errors';
import { DAY, HOUR, MINUTE, ProfileHarness, T0, page, shippedRules, tp } from './harness';

const consent = (channel: string, purpose: string, granted: boolean) => ({ consent: { channel, purpose, granted } });

describe('unified profile', () => {
  it('keeps identifiers, channels, sessions, a bounded journey, traits and the time zone', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('p', tp(T0, 'web', 'page_view', { sessionId: 's1', page: page('/mortgages', 'mortgages') }));
    h.touch('p', tp(T0 + 5 * MINUTE, 'web', 'page_view', { sessionId: 's1' }));
    h.touch('p', tp(T0 + 45 * MINUTE, 'web', 'page_view', { sessionId: 's1' }));
    h.touch('p', tp(T0 + HOUR, 'app', 'login', {
      identifiers: [{ type: 'device_id', value: 'd-9' }, { type: 'customer_id', value: 'c-1' }, { type: 'anonymous_id', value: 'anon-1' }],
      attributes: { 'trait.tier': 'gold', colour: 'blue' },
      timeZone: 'Europe/Dublin',
    }));
    for (let i = 0; i < 12; i++) h.touch('p', tp(T0 + 2 * HOUR + i * MINUTE, 'web', 'page_view', { identifiers: [{ type: 'device_id', value: 'd-1' }] }));
    await h.run();

    const p = await h.profile('p');
    expect(p.firstSeen).toBe(T0);
    expect(p.lastSeen).toBe(T0 + 2 * HOUR + 11 * MINUTE);
    expect(p.identifiers).toEqual({ anonymous_id: ['anon-1'], device_id: ['d-1', 'd-9'], customer_id: ['c-1'] });
    expect(p.channels.app).toEqual({ count: 1, lastAt: T0 + HOUR, session: { id: null, startedAt: T0 + HOUR, lastAt: T0 + HOUR, depth: 1 } });
    expect(p.channels.web!.count).toBe(15);
    expect(p.channels.web!.session).toEqual({ id: null, startedAt: T0 + 2 * HOUR, lastAt: T0 + 2 * HOUR + 11 * MINUTE, depth: 12 });
    expect(p.journey.map((e) => e.at)).toEqual([4, 5, 6, 7, 8, 9, 10, 11].map((i) => T0 + 2 * HOUR + i * MINUTE));
    expect(p.traits).toEqual({ tier: { value: 'gold', at: T0 + HOUR } });
    expect(p.timeZone).toEqual({ value: 'Europe/Dublin', at: T0 + HOUR });
    // with the journey's 8, the last 12 event ids are remembered
    expect(p.recentEventIds.map(([at]) => at)).toEqual([0, 1, 2, 3].map((i) => T0 + 2 * HOUR + i * MINUTE));
  });

  it('starts a new session when the channel says so (another session id)', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('p', tp(T0, 'web', 'page_view', { sessionId: 's1' }));
    h.touch('p', tp(T0 + MINUTE, 'web', 'page_view', { sessionId: 's1' }));
    h.touch('p', tp(T0 + 2 * MINUTE, 'web', 'page_view', { sessionId: 's2' }));
    await h.run();
    expect((await h.profile('p')).channels.web!.session).toEqual({ id: 's2', startedAt: T0 + 2 * MINUTE, lastAt: T0 + 2 * MINUTE, depth: 1 });
  });

  it('takes channel, trait and identifier names from data without tripping on names objects already have', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('p', tp(T0, 'constructor', 'page_view', { identifiers: [{ type: 'toString', value: 'x' }], attributes: { 'trait.constructor': 'yes', 'trait.__proto__': 'no' } }));
    h.touch('p', tp(T0 + 1, 'constructor', 'page_view'));
    await h.run();
    const p = await h.profile('p');
    expect(p.channels.constructor).toEqual(expect.objectContaining({ count: 2, lastAt: T0 + 1 }));
    expect(p.identifiers.toString).toEqual(['x']);
    expect(p.traits.constructor).toEqual({ value: 'yes', at: T0 });
    expect(Object.keys(p.traits)).toEqual(['constructor']);
    expect(Object.getPrototypeOf(p.traits)).toBe(Object.prototype);
  });

  it('drops a touchpoint delivered twice', async () => {
    const h = await ProfileHarness.create(shippedRules());
    const once = tp(T0, 'web', 'page_view');
    h.touch('p', once).touch('p', tp(T0 + MINUTE, 'web', 'page_view')).touch('p', once);
    await h.run();
    expect((await h.profile('p')).channels.web!.count).toBe(2);
    expect(h.updates()).toHaveLength(2);
    const counted = (await h.driver.metrics.domainEvents.get()).values.find((v) => v.labels.event === 'duplicate');
    expect(counted?.value).toBe(1);
  });

  it('takes the latest consent decision by event time, whatever order decisions arrive in', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('p', tp(T0 + 2 * HOUR, 'web', 'consent_updated', consent('email', 'marketing', true)));
    // older decision arriving late: must not override the newer grant
    h.touch('p', tp(T0 + HOUR, 'call_centre', 'consent_updated', consent('email', 'marketing', false)));
    h.touch('p', tp(T0 + HOUR, 'web', 'consent_updated', consent('sms', 'marketing', true)));
    await h.run();
    let p = await h.profile('p');
    expect(p.consent['email|marketing']).toEqual({ value: true, at: T0 + 2 * HOUR });
    expect(p.consent['sms|marketing']).toEqual({ value: true, at: T0 + HOUR });

    h.touch('p', tp(T0 + 3 * HOUR, 'app', 'consent_updated', consent('email', 'marketing', false)));
    // a grant and a withdrawal in the same millisecond: withdrawn, in either order
    h.touch('p', tp(T0 + 3 * HOUR, 'app', 'consent_updated', consent('sms', 'marketing', false)));
    h.touch('p', tp(T0 + 3 * HOUR, 'app', 'consent_updated', consent('sms', 'marketing', true)));
    await h.run();
    p = await h.profile('p');
    expect(p.consent['email|marketing']).toEqual({ value: false, at: T0 + 3 * HOUR });
    expect(p.consent['sms|marketing']).toEqual({ value: false, at: T0 + 3 * HOUR });
    // a consent_updated event without a consent change changes nothing
    h.touch('p', tp(T0 + 4 * HOUR, 'app', 'consent_updated'));
    await h.run();
    expect((await h.profile('p')).consent).toEqual(p.consent);
  });

  it('erases a profile: the entry is gone, tombstones reach the changelog and profiles.view, no view follows', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('p', tp(T0, 'web', 'page_view')).touch('p', tp(T0 + 1000, 'web', 'page_view'));
    await h.run();
    expect(await h.entry('p')).toBeDefined();
    expect(((await h.entry('p')) as ProfileState).viewedAt).toBe(T0);
    h.erase('p', T0 + 2000);
    await h.run();
    await h.advanceTime(T0 + DAY);

    expect(await h.entry('p')).toBeUndefined();
    const changelog = h.driver.producedRecords.filter((r) => r.topic === `profile-test-${PROFILES_STORE}-changelog` && r.key?.toString() === 'p');
    expect(changelog.at(-1)!.value).toBeNull();
    const views = h.views().filter((v) => v.key === 'p');
    expect(views.at(-1)!.value).toBeNull();
    // the throttled view of the second touch was due at T0 + 5s: it must not resurrect the profile
    expect(views.filter((v) => v.value !== null)).toHaveLength(1);
    // the erasure cancelled that timer: it never fired (a tombstone reaching another node's cancel did nothing)
    const fired = (await h.driver.metrics.timersFired.get()).values.filter((v) => v.labels.processor === 'profile-view');
    expect(fired.reduce((sum, v) => sum + v.value, 0)).toBe(0);
  });

  it('forwards a touchpoint reaching a merged-away profile to the winner', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('winner', tp(T0, 'app', 'login', { identifiers: [{ type: 'customer_id', value: 'c-1' }] }));
    h.touch('loser', tp(T0 + MINUTE, 'web', 'page_view', { identifiers: [{ type: 'anonymous_id', value: 'a-7' }] }));
    await h.run();
    h.merge('loser', 'winner', T0 + 2 * MINUTE);
    await h.run();
    expect(await h.entry('loser')).toEqual({ mergedInto: 'winner', at: T0 + 2 * MINUTE });
    let winner = await h.profile('winner');
    expect(winner.identifiers).toEqual({ customer_id: ['c-1'], anonymous_id: ['a-7'] });
    expect(h.views().filter((v) => v.key === 'loser').at(-1)!.value).toBeNull();

    const late = tp(T0 + 3 * MINUTE, 'web', 'search', { identifiers: [{ type: 'anonymous_id', value: 'a-7' }] });
    h.touch('loser', late);
    await h.run();
    winner = await h.profile('winner');
    expect(winner.channels.web!.count).toBe(2);
    expect(winner.journey.map((e) => e.eventId)).toContain(late.eventId);
    expect(await h.entry('loser')).toEqual({ mergedInto: 'winner', at: T0 + 2 * MINUTE });
    const rerouted = h.resolved().filter((e) => e.body.kind === 'touchpoint');
    expect(rerouted).toEqual([expect.objectContaining({ profileId: 'winner' })]);
  });

  it('follows chained merges: state and touchpoints reach the last winner', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('b', tp(T0, 'web', 'page_view', { identifiers: [{ type: 'anonymous_id', value: 'b' }] }));
    h.touch('a', tp(T0 + 1, 'app', 'page_view', { identifiers: [{ type: 'device_id', value: 'a' }] }));
    h.touch('c', tp(T0 + 2, 'branch', 'call', { identifiers: [{ type: 'customer_id', value: 'c' }] }));
    await h.run();
    // b's state is still on its way to a when a is merged into c
    h.merge('b', 'a', T0 + 10).merge('a', 'c', T0 + 11);
    await h.run();
    h.touch('b', tp(T0 + 20, 'web', 'search', { identifiers: [{ type: 'anonymous_id', value: 'b' }] }));
    await h.run();

    const c = await h.profile('c');
    expect(c.identifiers).toEqual({ anonymous_id: ['b'], device_id: ['a'], customer_id: ['c'] });
    expect(c.channels.web!.count).toBe(2);
    expect(c.firstSeen).toBe(T0);
    expect(await h.entry('a')).toEqual({ mergedInto: 'c', at: T0 + 11 });
    expect(await h.entry('b')).toEqual({ mergedInto: 'a', at: T0 + 10 });
  });

  it('leaves a pointer when a profile with no state is merged away', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.merge('ghost', 'winner', T0);
    await h.run();
    expect(await h.entry('ghost')).toEqual({ mergedInto: 'winner', at: T0 });
    expect(h.resolved()).toEqual([]);
    h.touch('ghost', tp(T0 + 1, 'web', 'page_view'));
    await h.run();
    expect((await h.profile('winner')).channels.web!.count).toBe(1);
  });

  it('publishes a view at most once per interval, and the latest state at its end', async () => {
    const rules = shippedRules();
    const h = await ProfileHarness.create(rules);
    for (let i = 0; i < 3; i++) h.touch('p', tp(T0 + i * 1000, 'web', 'page_view'));
    await h.run();
    expect(h.views().map((v) => v.value!.channels)).toEqual([{ web: 1 }]);
    await h.advanceTime(T0 + rules.profile.viewInterval - 1);
    expect(h.views()).toHaveLength(1);
    await h.advanceTime(T0 + rules.profile.viewInterval);
    expect(h.views().map((v) => [v.timestamp, v.value!.channels])).toEqual([
      [T0, { web: 1 }],
      [T0 + rules.profile.viewInterval, { web: 3 }],
    ]);
    h.touch('p', tp(T0 + 60_000, 'web', 'page_view'));
    await h.run();
    expect(h.views().at(-1)!.value!.channels).toEqual({ web: 4 });
    expect(h.views()).toHaveLength(3);
  });

  it('builds the view channels read: known, identifiers, segments, scores explained, consent, recent journey', () => {
    const rules = shippedRules();
    const state = emptyProfile('p', T0);
    state.identifiers = { customer_id: ['c-1'] };
    state.channels = { web: { count: 4, lastAt: T0, session: null } };
    state.segments = { z_last: { since: T0 }, a_first: { since: T0 } };
    state.consent = { 'email|marketing': { value: true, at: T0 } };
    state.journey = [{ at: T0, eventId: 'e', channel: 'web', eventType: 'page_view', category: null, path: '/' }];
    state.scores = {
      engagement: { value: 10, at: T0, halfLife: DAY, contributions: { a: 1, b: -6, c: 2, d: 0.5, e: 0.1, f: 3 }, recency: 4 },
      retired: { value: 1, at: T0, halfLife: DAY, contributions: {} },
    };
    const view = profileView(state, rules.scoring, T0 + DAY);
    expect(view).toEqual({
      profileId: 'p',
      known: true,
      firstSeen: T0,
      lastSeen: T0,
      identifiers: { customer_id: ['c-1'] },
      channels: { web: 4 },
      segments: ['a_first', 'z_last'],
      scores: [{ name: 'engagement', value: 5, topContributions: { b: -3, recency: 2, f: 1.5, c: 1, a: 0.5 } }],
      consent: { 'email|marketing': true },
      recentJourney: ['2026-10-01T09:00:00.000Z web page_view -'],
    });
    expect(profileView(emptyProfile('q', T0), rules.scoring).known).toBe(false);
  });

  it('stores a profile of a typical history (40 touchpoints, 5 channels, 5 scores) in under 2 KB', async () => {
    const h = await ProfileHarness.create(shippedRules());
    const ids = [{ type: 'customer_id', value: 'Zq3v9mN1xk2Lr8Tp0aBcD4eFgH5iJ6kLm7nOp8qRs9t' }, { type: 'device_id', value: 'Yw2u8lM0wj1Kq7So9zAbC3dEfG4hI5jKl6mNo7pQr8s' }];
    const kinds: [string, string, ReturnType<typeof page> | null][] = [
      ['web', 'page_view', page('/mortgages/rates', 'mortgages', { dwellMs: 40_000, depth: 2 })],
      ['app', 'login', null],
      ['online_banking', 'bill_payment', null],
      ['web', 'page_view', page('/cards/compare', 'cards', { dwellMs: 20_000, depth: 3 })],
      ['email', 'email_open', null],
    ];
    for (let i = 0; i < 40; i++) {
      const [channel, eventType, context] = kinds[i % kinds.length]!;
      h.touch('p', tp(T0 + i * 7 * HOUR, channel, eventType, { identifiers: ids, page: context, eventId: `5f0c9a1e-7b2d-4c3e-9f4a-${String(i).padStart(12, '0')}` }));
    }
    await h.run();
    const profile = await h.profile('p');
    const bytes = profileEntrySerde.serialize(PROFILES_STORE, profile).length;
    expect(bytes).toBeLessThanOrEqual(2048);
    expect(profileEntrySerde.deserialize(PROFILES_STORE, profileEntrySerde.serialize(PROFILES_STORE, profile))).toEqual(profile);
  });

  it('reads records back with their fields alone, so a for…in sees what it saw before the profile was stored', async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('p', tp(T0, 'web', 'page_view', { sessionId: 's1', page: page('/mortgages', 'mortgages') }));
    await h.run();
    const stored = profileEntrySerde.deserialize(PROFILES_STORE, profileEntrySerde.serialize(PROFILES_STORE, await h.profile('p'))) as ProfileState;
    const enumerated = (value: object) => {
      const keys: string[] = [];
      for (const key in value) keys.push(key);
      return keys;
    };
    for (const record of [stored.channels.web!, stored.channels.web!.session!, stored.journey[0]!]) expect(enumerated(record)).toEqual(Object.keys(record));
  });

  it('reads engagement state stored before a field existed with that field empty', () => {
    const profile = { ...emptyProfile('p', T0), viewedAt: null };
    const { heldOut, ...older } = profile.engagement;
    const stored = profileEntrySerde.serialize(PROFILES_STORE, { ...profile, engagement: older as ProfileState['engagement'] });
    expect((profileEntrySerde.deserialize(PROFILES_STORE, stored) as ProfileState).engagement).toEqual({ ...older, heldOut });
  });

  it('reads profiles stored by format versions 1 (before viewedAt) and 2 (before provenance)', () => {
    const profile = { ...emptyProfile('p', T0), viewedAt: null };
    const v3 = profileEntrySerde.serialize(PROFILES_STORE, profile);
    expect([v3[0], v3[1]]).toEqual([3, 0]);
    // Each version appends one optional field; a null in an Avro union is its branch index alone (one
    // zero byte), so a version 2 body is version 3's without its last byte, and version 1's without two.
    expect([...v3.subarray(-2)]).toEqual([0, 0]);
    const v2 = Buffer.concat([Buffer.from([2, 0]), v3.subarray(2, -1)]);
    const v1 = Buffer.concat([Buffer.from([1, 0]), v3.subarray(2, -2)]);
    expect(profileEntrySerde.deserialize(PROFILES_STORE, v2)).toEqual(profile);
    expect(profileEntrySerde.deserialize(PROFILES_STORE, v1)).toEqual(profile);
    expect(() => profileEntrySerde.deserialize(PROFILES_STORE, Buffer.from([4, 0]))).toThrow(/format version 4 is not known/);
  });

  it('keeps provenance through the store', () => {
    const profile = { ...emptyProfile('p', T0), viewedAt: null };
    beginMerge(profile, 'q', T0 + 1, 'link-1');
    const read = profileEntrySerde.deserialize(PROFILES_STORE, profileEntrySerde.serialize(PROFILES_STORE, profile)) as ProfileState;
    expect(read.provenance).toEqual(profile.provenance);
    expect(read.provenance!.merges[0]).toEqual(expect.objectContaining({ loser: 'q', causeEventId: 'link-1', fromSeq: 0, loserState: null }));
  });
});

describe('config/profile.yaml', () => {
  it('loads the shipped file', () => {
    expect(shippedRules().profile).toEqual(expect.objectContaining({ sessionGap: 30 * MINUTE, journeyLength: 8, recentEventIds: 12 }));
  });

  it('names the file, path and line of a bad duration', () => {
    const text = ['sessions:', '  inactivityGap: 30m', '  channels:', '    app: 10 minutes', 'journey: { length: 10 }', 'deduplication: { recentEventIds: 8 }', 'view: { throttle: 5s }'].join('\n');
    expect(() => parseConfigFile(profileFile, 'profile.yaml', text, undefined)).toThrow(ConfigError);
    expect(() => parseConfigFile(profileFile, 'profile.yaml', text, undefined)).toThrow(/^profile\.yaml: sessions\.channels\.app \(line 4\): "10 minutes" is not a duration/);
  });

  it('names the file, path and line of a value of the wrong type', () => {
    const text = ['sessions: { inactivityGap: 30m }', 'journey:', '  length: ten', 'deduplication: { recentEventIds: 8 }', 'view: { throttle: 5s }'].join('\n');
    expect(() => parseConfigFile(profileFile, 'profile.yaml', text, undefined)).toThrow(/^profile\.yaml: journey\.length \(line 3\): must be integer/);
  });
});
