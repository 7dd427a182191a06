import { commandId, holdoutGroup } from '../../../processors/triggers/eligibility';
import type { TriggerSpec } from '../../../processors/triggers/config';
import { DAY, grant, Harness, HOUR, merge, MINUTE, onEvent, policy, rules, T0, touch, type TestInput } from './support';

const consenting = (id: string, at = T0 - HOUR, extra = {}): TestInput => grant(id, `${id}-consent`, at, '*', 'marketing', true, extra);
const withPhone = {
  identifiers: [
    { type: 'customer_id', value: 'c' },
    { type: 'email', value: 'e' },
    { type: 'phone', value: 'p' },
  ],
};
const anonymous = { identifiers: [{ type: 'anonymous_id', value: 'a' }] };
/** 22:30 in Dublin (UTC in January), 17:30 in New York. */
const LATE_EVENING = Date.UTC(2026, 0, 5, 22, 30);

describe('eligibility', () => {
  describe('consent', () => {
    it('sends marketing only with a consent record: none means no_consent, on every channel tried', async () => {
      const h = await Harness.create({ rules: rules([onEvent('offer', 'login')]) });
      await h.send(touch('p1', 'l1', T0, 'login'));
      expect(h.commands).toHaveLength(0);
      expect(h.decisions.map((d) => d.outcome)).toEqual(['no_consent']);
      expect(h.decisions[0]!.decisionId).toBe(commandId('offer', 'p1', 'l1'));
      expect(h.decisions[0]!.trace.checks).toEqual([
        { check: 'consent', passed: false, detail: 'web: no consent record for marketing' },
        { check: 'consent', passed: false, detail: 'email: no consent record for marketing' },
      ]);
      await h.send(grant('p1', 'c1', T0 + MINUTE, 'web', 'marketing'), touch('p1', 'l2', T0 + 2 * MINUTE, 'login'));
      expect(h.commands.map((c) => [c.channel, c.trace.checks[0]!.detail])).toEqual([['web', `web: web|marketing granted ${new Date(T0 + MINUTE).toISOString()}`]]);
    });

    it('lets the latest statement decide: a later withdrawal of all marketing beats an earlier channel grant, and vice versa', async () => {
      const h = await Harness.create({ rules: rules([onEvent('offer', 'login', { channels: ['web'] }, {})], { cooldown: '1ms' }) });
      await h.send(
        grant('p1', 'c1', T0, 'web', 'marketing'),
        grant('p1', 'c2', T0 + MINUTE, '*', 'marketing', false),
        touch('p1', 'l1', T0 + 2 * MINUTE, 'login'),
      );
      expect(h.decisions.map((d) => [d.outcome, d.trace.checks[0]!.detail])).toEqual([
        ['no_consent', `web: *|marketing withdrawn ${new Date(T0 + MINUTE).toISOString()}`],
      ]);
      await h.send(grant('p1', 'c3', T0 + 3 * MINUTE, 'web', 'marketing'), touch('p1', 'l2', T0 + 4 * MINUTE, 'login'));
      expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['l2']]);
    });

    it('allows service messages without a record (per config), but not after the person withdrew them', async () => {
      const alert = onEvent('alert', 'bill_payment', { channels: ['web'], purpose: 'service', action: 'account_alert' });
      const h = await Harness.create({ rules: rules([alert], { cooldown: '1ms' }) });
      await h.send(touch('p1', 'b1', T0, 'bill_payment'));
      expect(h.commands).toHaveLength(1);
      expect(h.commands[0]!.trace.checks[0]).toEqual({ check: 'consent', passed: true, detail: 'web: no consent record for service; service is allowed without one' });
      await h.send(grant('p1', 'c1', T0 + MINUTE, '*', 'service', false), touch('p1', 'b2', T0 + 2 * MINUTE, 'bill_payment'));
      expect(h.decisions.map((d) => d.outcome)).toEqual(['no_consent']);

      const strict = await Harness.create({ rules: rules([alert]), policy: policy({ consent: { allowWithoutRecord: [] } }) });
      await strict.send(touch('p1', 'b1', T0, 'bill_payment'));
      expect(strict.decisions.map((d) => d.outcome)).toEqual(['no_consent']);
    });
  });

  describe('channel reach', () => {
    it('shows a banner on web while the session is active, and falls back to the next allowed channel when it is over', async () => {
      const h = await Harness.create({ rules: rules([onEvent('offer', 'bill_payment')], { cooldown: '1ms' }) });
      await h.send(consenting('p1'), touch('p1', 'v1', T0, 'page_view'), touch('p1', 'b1', T0 + 10 * MINUTE, 'bill_payment', { channel: 'branch', sessionId: null }));
      expect(h.commands.map((c) => [c.channel, c.action])).toEqual([['web', 'banner']]);
      await h.send(touch('p1', 'b2', T0 + 50 * MINUTE, 'bill_payment', { channel: 'branch', sessionId: null }));
      expect(h.commands.map((c) => [c.channel, c.action])).toEqual([
        ['web', 'banner'],
        ['email', 'email'],
      ]);
      const reach = h.commands[1]!.trace.checks.filter((c) => c.check === 'reach');
      expect(reach).toEqual([
        { check: 'reach', passed: false, detail: 'web: session over (last activity 50m ago; gap 30m)' },
        { check: 'reach', passed: true, detail: 'email: email known' },
      ]);
    });

    it('records no_reachable_channel when no session is active and no identifier reaches the person', async () => {
      const h = await Harness.create({ rules: rules([onEvent('offer', 'bill_payment')]) });
      await h.send(consenting('p1', T0 - HOUR, { ...anonymous, channel: 'branch', sessionId: null }), touch('p1', 'b1', T0, 'bill_payment', { ...anonymous, channel: 'branch', sessionId: null }));
      expect(h.decisions.map((d) => d.outcome)).toEqual(['no_reachable_channel']);
      expect(h.decisions[0]!.trace.checks.filter((c) => c.check === 'reach').map((c) => c.detail)).toEqual(['web: no session', 'email: no email known']);
    });
  });

  describe('quiet hours', () => {
    const emailOnly = onEvent('offer', 'bill_payment', { channels: ['email'], action: 'email' });

    it('holds email back at 22:30 in the person’s zone, and sends at the same instant to someone for whom it is 17:30', async () => {
      const h = await Harness.create({ rules: rules([emailOnly]) });
      await h.send(
        consenting('dublin'),
        touch('dublin', 'b1', LATE_EVENING, 'bill_payment', { timeZone: 'Europe/Dublin' }),
        consenting('newyork'),
        touch('newyork', 'b2', LATE_EVENING, 'bill_payment', { timeZone: 'America/New_York' }),
      );
      expect(h.decisions.map((d) => [d.profileId, d.outcome])).toEqual([['dublin', 'quiet_hours']]);
      expect(h.decisions[0]!.trace.checks.at(-1)).toEqual({
        check: 'quiet_hours',
        passed: false,
        detail: 'email: 22:30 in Europe/Dublin is inside quiet hours 21:00-08:00',
      });
      expect(h.commands.map((c) => c.profileId)).toEqual(['newyork']);
      expect(h.commands[0]!.trace.checks.find((c) => c.check === 'quiet_hours')!.detail).toBe('email: 17:30 in America/New_York is outside quiet hours 21:00-08:00');
    });

    it('uses the default zone for people whose zone is unknown or invalid', async () => {
      const h = await Harness.create({ rules: rules([emailOnly]), policy: policy({ defaultTimeZone: 'Asia/Tokyo' }) });
      // 12:00 UTC is 21:00 in Tokyo
      await h.send(consenting('p1'), touch('p1', 'b1', T0, 'bill_payment'), consenting('p2'), touch('p2', 'b2', T0, 'bill_payment', { timeZone: 'Mars/Base' }));
      expect(h.decisions.map((d) => [d.profileId, d.outcome])).toEqual([
        ['p1', 'quiet_hours'],
        ['p2', 'quiet_hours'],
      ]);
    });
  });

  describe('fatigue', () => {
    it('caps what one person receives overall, counting every trigger and channel', async () => {
      const h = await Harness.create({
        rules: rules([onEvent('first', 'login'), onEvent('second', 'bill_payment', { channels: ['email'], action: 'email' })]),
        policy: policy({ fatigue: { caps: [{ max: 1, per: '1d' }], dismissals: { countAs: 0, triggerCooldown: '30d' } } }),
      });
      await h.send(consenting('p1'), touch('p1', 'l1', T0, 'login'), touch('p1', 'b1', T0 + HOUR, 'bill_payment'));
      expect(h.commands.map((c) => [c.triggerId, c.channel])).toEqual([['first', 'web']]);
      expect(h.decisions.map((d) => [d.triggerId, d.outcome, d.trace.checks.at(-1)!.detail])).toEqual([['second', 'capped', 'overall: 1 of 1 per 1d']]);
      await h.send(touch('p1', 'b2', T0 + DAY + MINUTE, 'bill_payment'));
      expect(h.commands.map((c) => c.triggerId)).toEqual(['first', 'second']);
    });

    it('applies a channel cap per channel, moving to the next allowed channel', async () => {
      const h = await Harness.create({
        rules: rules([
          onEvent('first', 'login', { channels: ['email'], action: 'email' }),
          onEvent('second', 'bill_payment', { channels: ['email', 'sms'], action: 'email' }),
        ]),
        policy: policy({ fatigue: { caps: [{ channel: 'email', max: 1, per: '1d' }], dismissals: { countAs: 0, triggerCooldown: '30d' } } }),
      });
      await h.send(
        consenting('p1', T0 - HOUR, withPhone),
        touch('p1', 'l1', T0, 'login', { ...withPhone, channel: 'branch', sessionId: null }),
        touch('p1', 'b1', T0 + HOUR, 'bill_payment', { ...withPhone, channel: 'branch', sessionId: null }),
      );
      expect(h.commands.map((c) => [c.triggerId, c.channel])).toEqual([
        ['first', 'email'],
        ['second', 'sms'],
      ]);
      expect(h.commands[1]!.trace.checks.filter((c) => c.check === 'fatigue')).toEqual([{ check: 'fatigue', passed: false, detail: 'email: 1 of 1 per 1d' }]);
    });

    it('counts dismissals extra when configured, so a dismissed person reaches the cap sooner', async () => {
      const run = async (countAs: number) => {
        const h = await Harness.create({
          rules: rules([onEvent('first', 'login'), onEvent('second', 'bill_payment')]),
          policy: policy({ fatigue: { caps: [{ max: 2, per: '1d' }], dismissals: { countAs, triggerCooldown: '1d' } } }),
        });
        await h.send(consenting('p1'), touch('p1', 'l1', T0, 'login'));
        const sent = h.commands[0]!;
        await h.send(
          touch('p1', 'd1', T0 + MINUTE, 'dismissed', { outcome: { commandId: sent.commandId, triggerId: null } }),
          touch('p1', 'b1', T0 + 2 * MINUTE, 'bill_payment'),
        );
        return h;
      };
      const counted = await run(1);
      expect(counted.decisions.map((d) => [d.triggerId, d.outcome, d.trace.checks.at(-1)!.detail])).toEqual([
        ['second', 'capped', 'overall: 2 of 2 per 1d (1 sent + 1 dismissed × 1)'],
      ]);
      const notCounted = await run(0);
      expect(notCounted.commands.map((c) => c.triggerId)).toEqual(['first', 'second']);
    });
  });

  describe('cooldown', () => {
    it('sends a trigger to one person at most once per cooldown', async () => {
      const h = await Harness.create({ rules: rules([onEvent('offer', 'login', { cooldown: '1d' })]) });
      await h.send(consenting('p1'), touch('p1', 'l1', T0, 'login'), touch('p1', 'l2', T0 + HOUR, 'login'));
      expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['l1']]);
      expect(h.decisions.map((d) => [d.outcome, d.trace.checks.at(-1)!.detail])).toEqual([['cooldown', 'engaged 1h ago; cooldown 1d']]);
      await h.send(touch('p1', 'l3', T0 + DAY, 'login'));
      expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['l1'], ['l3']]);
    });

    it('does not send a trigger the person dismissed again until the dismissal cooldown passed', async () => {
      const h = await Harness.create({
        rules: rules([onEvent('offer', 'login', { cooldown: '1ms' })]),
        policy: policy({ fatigue: { caps: [], dismissals: { countAs: 0, triggerCooldown: '2d' } } }),
      });
      await h.send(consenting('p1'), touch('p1', 'l1', T0, 'login'));
      await h.send(
        touch('p1', 'd1', T0 + MINUTE, 'dismissed', { outcome: { commandId: h.commands[0]!.commandId, triggerId: 'offer' } }),
        touch('p1', 'l2', T0 + DAY, 'login'),
      );
      expect(h.decisions.map((d) => [d.outcome, d.trace.checks.at(-1)!.detail])).toEqual([['cooldown', 'dismissed 23h59m ago; re-eligible after 2d']]);
      await h.send(touch('p1', 'l3', T0 + 2 * DAY + 2 * MINUTE, 'login'));
      expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['l1'], ['l3']]);
    });
  });

  describe('freshness', () => {
    it('suppresses as stale a firing decided later than maxDelay after its cause', async () => {
      const h = await Harness.create({ rules: rules([onEvent('offer', 'login', { maxDelay: '10m' })]) });
      await h.send(consenting('p1'), consenting('p2'), touch('p2', 'x', T0 + 2 * HOUR, 'page_view'));
      // p1's login arrives two hours behind the partition's stream time
      await h.send(touch('p1', 'late', T0, 'login'), touch('p2', 'fresh', T0 + 2 * HOUR + MINUTE, 'login'));
      expect(h.decisions.map((d) => [d.profileId, d.outcome, d.trace.checks.at(-1)])).toEqual([
        ['p1', 'stale', { check: 'freshness', passed: false, detail: 'decided 2h after the cause (max 10m)' }],
      ]);
      expect(h.commands.map((c) => c.profileId)).toEqual(['p2']);
    });
  });

  describe('priority arbitration', () => {
    const twoSeconds = policy({ arbitration: { window: '2s' } });
    const low = onEvent('low', 'page_view', { priority: 10 });
    const high = onEvent('high', 'login', { priority: 90 });

    it('sends only the highest priority of the firings inside the window, at the window end, and records the others as outranked', async () => {
      const h = await Harness.create({ rules: rules([low, high]), policy: twoSeconds });
      await h.send(consenting('p1'), touch('p1', 'v1', T0, 'page_view'), touch('p1', 'l1', T0 + 1000, 'login'));
      expect(h.commands).toHaveLength(0); // the window is still open
      await h.advanceTo(T0 + 2000);
      expect(h.commands.map((c) => [c.triggerId, c.createdAt])).toEqual([['high', T0 + 2000]]);
      expect(h.decisions.map((d) => [d.triggerId, d.outcome, d.trace.checks.at(-1)])).toEqual([
        ['low', 'outranked', { check: 'arbitration', passed: false, detail: 'outranked by high (priority 90 vs 10)' }],
      ]);
      expect(h.commands[0]!.trace.checks.find((c) => c.check === 'arbitration')!.detail).toBe('highest priority of 2 firings (90)');
      expect((await h.profile('p1')).engagement.pending).toEqual([]);
    });

    it('decides firings further apart than the window separately', async () => {
      const h = await Harness.create({ rules: rules([low, high]), policy: twoSeconds });
      await h.send(consenting('p1'), touch('p1', 'v1', T0, 'page_view'), touch('p1', 'l1', T0 + 5000, 'login'));
      await h.advanceTo(T0 + 10_000);
      expect(h.commands.map((c) => c.triggerId)).toEqual(['low', 'high']);
    });

    it('lets a lower priority win when the higher one cannot be sent (only eligible firings compete)', async () => {
      const h = await Harness.create({ rules: rules([low, { ...high, engage: { ...high.engage, channels: ['sms'] } }]), policy: twoSeconds });
      await h.send(consenting('p1'), touch('p1', 'v1', T0, 'page_view'), touch('p1', 'l1', T0 + 1000, 'login'));
      await h.advanceTo(T0 + 2000);
      expect(h.commands.map((c) => c.triggerId)).toEqual(['low']);
      expect(h.decisions.map((d) => [d.triggerId, d.outcome])).toEqual([['high', 'no_reachable_channel']]);
    });

    it('arbitrates firings of one event at once with a 0s window', async () => {
      const h = await Harness.create({ rules: rules([onEvent('a', 'login', { priority: 5 }), onEvent('b', 'login', { priority: 7 })]) });
      await h.send(consenting('p1'), touch('p1', 'l1', T0, 'login'));
      expect(h.commands.map((c) => c.triggerId)).toEqual(['b']);
      expect(h.decisions.map((d) => [d.triggerId, d.outcome])).toEqual([['a', 'outranked']]);
    });
  });

  describe('holdout', () => {
    const offer = onEvent('offer', 'login', { holdoutPercent: 50, cooldown: '1ms' });
    const group = (id: string) => holdoutGroup('test', 'offer', id, 50);
    /** The first profile ids whose stable hash puts them in each group. */
    const find = (wanted: 'control' | 'treatment', skip = 0): string => {
      const ids = Array.from({ length: 200 }, (_, i) => `person-${i}`).filter((id) => group(id) === wanted);
      return ids[skip]!;
    };

    it('holds control members out by a stable hash, recording the group and an exposure, and treats the rest', async () => {
      const control = find('control');
      const treated = find('treatment');
      const h = await Harness.create({ rules: rules([offer]) });
      await h.send(consenting(control), touch(control, 'l1', T0, 'login'), consenting(treated), touch(treated, 'l2', T0, 'login'));
      expect(h.decisions.map((d) => [d.profileId, d.outcome, d.trace.checks.at(-1)])).toEqual([
        [control, 'held_out', { check: 'holdout', passed: false, detail: 'control group (50% held out)' }],
      ]);
      expect(h.commands.map((c) => c.profileId)).toEqual([treated]);
      const held = (await h.profile(control)).engagement;
      expect(held.holdout).toEqual({ offer: 'control' });
      expect(held.exposures).toEqual([{ at: T0, triggerId: 'offer', group: 'control', commandId: commandId('offer', control, 'l1'), converted: false, repeat: false }]);
      expect(held.sent).toEqual([]);
      expect((await h.profile(treated)).engagement.exposures.map((e) => e.group)).toEqual(['treatment']);
    });

    it('caps and cools down a control person at the same points as a treated one with the same history', async () => {
      const control = find('control');
      const treated = find('treatment');
      const h = await Harness.create({
        rules: rules([onEvent('offer', 'login', { holdoutPercent: 50, cooldown: '1h' })]),
        policy: policy({
          fatigue: { caps: [{ channel: 'web', max: 2, per: '1d' }, { max: 3, per: '1d' }], dismissals: { countAs: 0, triggerCooldown: '30d' } },
        }),
      });
      const offsets = [0, 30 * MINUTE, 2 * HOUR, 4 * HOUR, 6 * HOUR];
      await h.send(consenting(control), consenting(treated));
      for (const [i, offset] of offsets.entries()) {
        await h.send(...[control, treated].map((person) => touch(person, `${person}-l${i}`, T0 + offset, 'login')));
      }
      /** Per login, engaged (sent or held out) or the reason why not; and the channels engaged on. */
      const history = async (person: string) => {
        const outcome = new Map<string, string>();
        for (const c of h.commands) if (c.profileId === person) outcome.set(c.trace.causeEventIds[0]!, 'engaged');
        for (const d of h.decisions) if (d.profileId === person) outcome.set(d.trace.causeEventIds[0]!, d.outcome === 'held_out' ? 'engaged' : d.outcome);
        const sentOn = h.commands.filter((c) => c.profileId === person).map((c) => c.channel);
        const heldOutOn = (await h.profile(person)).engagement.heldOut.map((x) => x.channel);
        return { outcomes: offsets.map((_, i) => outcome.get(`${person}-l${i}`)), channels: [...sentOn, ...heldOutOn] };
      };
      const expected = { outcomes: ['engaged', 'cooldown', 'engaged', 'engaged', 'capped'], channels: ['web', 'web', 'email'] };
      expect(await history(treated)).toEqual(expected);
      expect(await history(control)).toEqual(expected);
      expect(h.commands.filter((c) => c.profileId === control)).toEqual([]);
      const capped = h.decisions.find((d) => d.profileId === control && d.outcome === 'capped')!;
      expect(capped.trace.checks.filter((c) => c.check === 'fatigue').map((c) => c.detail)).toEqual([
        'web: 2 of 2 per 1d (0 sent + 2 held out)',
        'overall: 3 of 3 per 1d (0 sent + 3 held out)',
      ]);
    });

    it('keeps a person’s group across a profile merge: the loser’s recorded control group stands in a winner without one', async () => {
      const loser = find('control');
      const winner = find('treatment');
      const h = await Harness.create({ rules: rules([offer]) });
      await h.send(consenting(winner), touch(winner, 'v0', T0, 'page_view'), consenting(loser), touch(loser, 'l1', T0, 'login'));
      expect(h.decisions.map((d) => [d.profileId, d.outcome])).toEqual([[loser, 'held_out']]);
      await h.send(merge(loser, winner, T0 + MINUTE), touch(winner, 'l2', T0 + 2 * MINUTE, 'login'));
      expect(h.commands).toHaveLength(0);
      expect(h.decisions.map((d) => [d.profileId, d.outcome])).toEqual([
        [loser, 'held_out'],
        [winner, 'held_out'],
      ]);
      const merged = (await h.profile(winner)).engagement;
      expect(merged.holdout).toEqual({ offer: 'control' });
      expect(merged.heldOut.map((x) => x.decisionId)).toEqual([commandId('offer', loser, 'l1'), commandId('offer', winner, 'l2')]);
    });

    it('keeps the winner’s group when both were assigned', async () => {
      const loser = find('control');
      const winner = find('treatment');
      const h = await Harness.create({ rules: rules([offer]) });
      await h.send(consenting(winner), touch(winner, 'l0', T0, 'login'), consenting(loser), touch(loser, 'l1', T0, 'login'));
      await h.send(merge(loser, winner, T0 + MINUTE), touch(winner, 'l2', T0 + 2 * MINUTE, 'login'));
      expect(h.commands.map((c) => [c.profileId, c.trace.causeEventIds])).toEqual([
        [winner, ['l0']],
        [winner, ['l2']],
      ]);
      const merged = (await h.profile(winner)).engagement;
      expect(merged.holdout).toEqual({ offer: 'treatment' });
      expect(merged.exposures.map((e) => e.group).sort()).toEqual(['control', 'treatment', 'treatment']);
    });
  });

  it('records every check in order for a command that passed them all', async () => {
    const h = await Harness.create({
      rules: rules([onEvent('offer', 'bill_payment', { channels: ['email'], action: 'email', holdoutPercent: 0 })]),
      policy: policy({ fatigue: { caps: [{ channel: 'email', max: 2, per: '1d' }, { max: 3, per: '1d' }], dismissals: { countAs: 0, triggerCooldown: '1d' } } }),
    });
    await h.send(consenting('p1'), touch('p1', 'b1', T0, 'bill_payment'));
    expect(h.commands[0]!.trace.checks).toEqual([
      { check: 'consent', passed: true, detail: `email: *|marketing granted ${new Date(T0 - HOUR).toISOString()}` },
      { check: 'reach', passed: true, detail: 'email: email known' },
      { check: 'quiet_hours', passed: true, detail: 'email: 12:00 in Europe/Dublin is outside quiet hours 21:00-08:00' },
      { check: 'fatigue', passed: true, detail: 'email: 0 of 2 per 1d' },
      { check: 'fatigue', passed: true, detail: 'overall: 0 of 3 per 1d' },
      { check: 'cooldown', passed: true, detail: 'not engaged before (cooldown 1d)' },
      { check: 'freshness', passed: true, detail: 'decided 0ms after the cause (max 10m)' },
      { check: 'arbitration', passed: true, detail: 'only firing in the window (priority 50)' },
      { check: 'holdout', passed: true, detail: 'treatment group (0% held out)' },
    ]);
  });
});

describe('replay', () => {
  const journey = (): TestInput[] => {
    const inputs: TestInput[] = [];
    for (let p = 0; p < 12; p++) {
      const id = `person-${p}`;
      const base = T0 + p * 7 * MINUTE;
      inputs.push(consenting(id, base - HOUR));
      inputs.push(touch(id, `${id}-v1`, base, 'page_view', { page: { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: null, scrollPercent: null, dwellMs: null } }));
      inputs.push(touch(id, `${id}-cart`, base + 1000, 'add_to_cart'));
      inputs.push(touch(id, `${id}-login`, base + 1500, 'login'));
      if (p % 3 === 0) inputs.push(touch(id, `${id}-buy`, base + 10 * MINUTE, 'purchase'));
    }
    return inputs;
  };
  const triggers: TriggerSpec[] = [
    onEvent('welcome', 'login', { priority: 20, holdoutPercent: 30 }),
    onEvent('mortgage', 'page_view', { priority: 60, holdoutPercent: 30 }),
    {
      id: 'cart',
      description: 'cart abandoned',
      grace: '1m',
      when: { absence: { after: { eventType: 'add_to_cart' }, missing: { eventType: 'purchase' }, within: '30m' } },
      engage: { action: 'email', contentRef: 'cart', channels: ['email'], priority: 70, maxDelay: '1h', holdoutPercent: 30 },
    },
  ];

  it('gives byte-identical commands for the same input', async () => {
    const runOnce = async () => {
      const h = await Harness.create({ rules: rules(triggers), policy: policy({ arbitration: { window: '2s' } }) });
      const inputs = journey();
      for (const input of inputs) await h.send(input);
      await h.advanceTo(T0 + 6 * HOUR);
      const commands = h.driver.producedRecords.filter((r) => r.topic === 'engagement.commands');
      return { commands, count: h.commands.length, decisions: h.decisions.length };
    };
    const first = await runOnce();
    const second = await runOnce();
    expect(first.count).toBeGreaterThan(5);
    expect(first.decisions).toBeGreaterThan(5);
    expect(second.commands.length).toBe(first.commands.length);
    const bytes = (rs: typeof first.commands) => Buffer.concat(rs.flatMap((r) => [r.key!, r.value!, Buffer.from(String(r.timestamp))]));
    expect(bytes(second.commands).equals(bytes(first.commands))).toBe(true);
  });
});
