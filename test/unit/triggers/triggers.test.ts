import { commandId } from '../../../processors/triggers/eligibility';
import { mergeEngagement } from '../../../processors/triggers/merge';
import { absenceEpisodes, addAbsenceStart, addSequenceEvent, findSequence, settleAbsence } from '../../../processors/triggers/patterns';
import { emptyEngagement, type AbsenceProgress, type SequenceProgress } from '../../../processors/triggers/state';
import { deepFreeze } from '../../../runtime/state/freeze';
import type { TriggerSpec } from '../../../processors/triggers/config';
import { DAY, grant, Harness, HOUR, merge, MINUTE, onEvent, rules, T0, touch, type TestInput } from './support';

const calculator = { page: { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: null, scrollPercent: null, dwellMs: null } };
const otherPage = { page: { path: '/cards', category: 'cards', product: null, depth: null, scrollPercent: null, dwellMs: null } };

const mortgageSequence: TriggerSpec = {
  id: 'mortgage_calculator_repeat',
  description: 'Viewed the mortgage calculator 3 times within a day',
  grace: '1h',
  when: { sequence: { steps: [{ eventType: 'page_view', path: '/mortgages/*', times: 3 }], within: '1d' } },
  engage: { action: 'banner', contentRef: 'mortgage-advice', channels: ['web', 'email'], maxDelay: '2h' },
};

const cartAbandoned: TriggerSpec = {
  id: 'cart_abandoned',
  description: 'Added to cart, then no purchase within 30 minutes',
  grace: '5m',
  when: { absence: { after: { eventType: 'add_to_cart' }, missing: { eventType: 'purchase' }, within: '30m' } },
  engage: { action: 'email', contentRef: 'cart-reminder', channels: ['email'], maxDelay: '15m' },
};

/** Everyone in these tests consents to marketing on every channel, unless a test says otherwise. */
const consenting = (id: string, at = T0 - HOUR): TestInput => grant(id, `${id}-consent`, at, '*', 'marketing');

describe('trigger detection', () => {
  it('fires a single-event rule with a deterministic command id, event-time times and the rule in the trace', async () => {
    const h = await Harness.create({ rules: rules([onEvent('welcome_back', 'login', { ttl: '2h' })]) });
    await h.send(consenting('p1'), touch('p1', 'e-login', T0, 'login'));
    expect(h.commands).toHaveLength(1);
    const command = h.commands[0]!;
    expect(command).toMatchObject({
      commandId: commandId('welcome_back', 'p1', 'e-login'),
      profileId: 'p1',
      triggerId: 'welcome_back',
      channel: 'web',
      action: 'banner',
      contentRef: 'welcome_back-content',
      priority: 50,
      createdAt: T0,
      expiresAt: T0 + 2 * HOUR,
    });
    expect(command.commandId).toMatch(/^[0-9a-f]{32}$/);
    expect(command.trace.rule).toBe('welcome_back rule');
    expect(command.trace.causeEventIds).toEqual(['e-login']);
    expect(command.trace.checks.map((c) => c.check)).toEqual(['consent', 'reach', 'cooldown', 'freshness', 'arbitration', 'holdout']);
    expect(command.trace.checks.every((c) => c.passed)).toBe(true);
  });

  it('does nothing for touchpoints no rule matches (filters on path, category, channel)', async () => {
    const spec: TriggerSpec = {
      ...onEvent('mortgage_page', 'page_view'),
      when: { event: { eventType: 'page_view', category: 'mortgages', channel: 'web', path: '/mortgages/*' } },
    };
    const h = await Harness.create({ rules: rules([spec]) });
    await h.send(
      consenting('p1'),
      touch('p1', 'e1', T0, 'page_view', otherPage),
      touch('p1', 'e2', T0 + 1, 'page_view', { ...calculator, channel: 'app' }),
      touch('p1', 'e3', T0 + 2, 'search'),
    );
    expect(h.commands).toHaveLength(0);
    expect(h.decisions).toHaveLength(0);
    await h.send(touch('p1', 'e4', T0 + 3, 'page_view', calculator));
    expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['e4']]);
  });

  it('fires an account-condition rule only when the balance after a bill payment is below the threshold', async () => {
    const spec: TriggerSpec = {
      id: 'low_balance',
      description: 'balance below 100.00 EUR after a bill payment',
      when: { event: { eventType: 'bill_payment', balanceBelow: { minorUnits: 10_000, currency: 'EUR' } } },
      engage: { action: 'account_alert', contentRef: 'top-up', channels: ['web'], purpose: 'service' },
    };
    const h = await Harness.create({ rules: rules([spec]) });
    const pay = (id: string, at: number, minorUnits: number, currency = 'EUR') =>
      touch('p1', id, at, 'bill_payment', { balance: { minorUnits, currency }, amount: { minorUnits: 5_000, currency } });
    await h.send(pay('b1', T0, 25_000), pay('b2', T0 + 1, 9_000, 'GBP'));
    expect(h.commands).toHaveLength(0);
    await h.send(pay('b3', T0 + 2, 9_999));
    expect(h.commands.map((c) => [c.triggerId, c.action, c.trace.causeEventIds])).toEqual([['low_balance', 'account_alert', ['b3']]]);
  });

  it('fires when the person enters a segment, and when a score crosses its threshold upwards (not while it stays above)', async () => {
    const segment: TriggerSpec = { ...onEvent('shopper', 'x'), when: { segmentEntered: 'mortgage_shopper' } };
    const score: TriggerSpec = { ...onEvent('churn', 'x'), when: { scoreCrosses: { score: 'churn_risk', above: 0.7 } } };
    const h = await Harness.create({ rules: rules([segment, score], { cooldown: '1ms' }) });
    await h.send(
      consenting('p1'),
      touch('p1', 'v1', T0, 'page_view', { scores: { churn_risk: 0.5 } }),
      touch('p1', 'v2', T0 + MINUTE, 'page_view', { scores: { churn_risk: 0.75 } }),
      touch('p1', 'v3', T0 + 2 * MINUTE, 'page_view', { scores: { churn_risk: 0.9 } }),
      touch('p1', 'v4', T0 + 3 * MINUTE, 'page_view', { segmentsEntered: ['mortgage_shopper'] }),
    );
    expect(h.commands.map((c) => c.triggerId)).toEqual(['churn', 'shopper']);
    const churn = h.commands.find((c) => c.triggerId === 'churn')!;
    expect(churn.trace.causeEventIds).toEqual(['v2']);
    expect(churn.trace.scores).toEqual({ churn_risk: 0.75 });
    expect(h.commands.find((c) => c.triggerId === 'shopper')!.trace.segments).toEqual(['mortgage_shopper']);
  });

  it('compares a score before and after the update at the same event time, so decay alone never looks like a crossing', async () => {
    const score: TriggerSpec = { ...onEvent('churn', 'x'), when: { scoreCrosses: { score: 'churn_risk', above: 0.7 } } };
    const h = await Harness.create({ rules: rules([score], { cooldown: '1ms', maxDelay: '1d' }) });
    await h.send(consenting('p1'), touch('p1', 'v1', T0, 'page_view', { scores: { churn_risk: 0.75 } }));
    expect(h.commands).toHaveLength(1);
    // ten days on (half-life 30d) the score has decayed to about 0.6 and this event does not touch it
    await h.send(touch('p1', 'v2', T0 + 10 * DAY, 'page_view'));
    expect(h.commands).toHaveLength(1);
    expect(h.decisions).toHaveLength(0);
    // scored again above the threshold: a real crossing, with the score at decision time in the trace
    await h.send(touch('p1', 'v3', T0 + 10 * DAY + MINUTE, 'page_view', { scores: { churn_risk: 0.8 } }));
    expect(h.commands.map((c) => [c.trace.causeEventIds, c.trace.scores])).toEqual([
      [['v1'], { churn_risk: 0.75 }],
      [['v3'], { churn_risk: 0.8 }],
    ]);
  });

  it('fires only for the rule audience (who): anonymous-only rules skip known people', async () => {
    const h = await Harness.create({ rules: rules([onEvent('anon_help', 'search', {}, { who: { known: false } })]) });
    await h.send(
      consenting('known'),
      touch('known', 's1', T0, 'search'),
      grant('anon', 'anon-consent', T0 - HOUR, '*', 'marketing', true, { identifiers: [{ type: 'anonymous_id', value: 'a1' }] }),
      touch('anon', 's2', T0, 'search', { identifiers: [{ type: 'anonymous_id', value: 'a1' }] }),
    );
    expect(h.commands.map((c) => c.profileId)).toEqual(['anon']);
  });

  describe('sequences within a window', () => {
    it('fires once when the third view falls within a day of the first, not for two, not when spread wider', async () => {
      const h = await Harness.create({ rules: rules([mortgageSequence]) });
      await h.send(consenting('p1'), touch('p1', 'v1', T0, 'page_view', calculator), touch('p1', 'v2', T0 + 12 * HOUR, 'page_view', calculator));
      expect(h.commands).toHaveLength(0);
      await h.send(touch('p1', 'v3', T0 + 26 * HOUR, 'page_view', calculator));
      expect(h.commands).toHaveLength(0); // v1..v3 span 26h
      await h.send(touch('p1', 'v4', T0 + 27 * HOUR, 'page_view', calculator));
      expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['v2', 'v3', 'v4']]);
      expect(h.commands[0]!.commandId).toBe(commandId('mortgage_calculator_repeat', 'p1', 'v4'));
      // the views are consumed: one more view does not fire again
      await h.send(touch('p1', 'v5', T0 + 28 * HOUR, 'page_view', calculator));
      expect(h.commands).toHaveLength(1);
    });

    it('completes with an out-of-order view that arrives late but inside the grace, in event-time order', async () => {
      const h = await Harness.create({ rules: rules([mortgageSequence]) });
      await h.send(
        consenting('p1'),
        touch('p1', 'v1', T0, 'page_view', calculator),
        touch('p1', 'v3', T0 + 2 * HOUR, 'page_view', calculator),
        // stream time moves on with another person's activity
        touch('p2', 'o1', T0 + 2 * HOUR + 30 * MINUTE, 'page_view', otherPage),
      );
      expect(h.commands).toHaveLength(0);
      // 55 minutes behind stream time: inside the 1h grace
      await h.send(touch('p1', 'v2', T0 + HOUR + 35 * MINUTE, 'page_view', calculator));
      expect(h.commands).toHaveLength(1);
      expect(h.commands[0]!.trace.causeEventIds).toEqual(['v1', 'v2', 'v3']);
      expect(h.commands[0]!.commandId).toBe(commandId('mortgage_calculator_repeat', 'p1', 'v3'));
    });

    it('ignores a view later than the grace', async () => {
      const h = await Harness.create({ rules: rules([mortgageSequence]) });
      await h.send(
        consenting('p1'),
        touch('p1', 'v1', T0, 'page_view', calculator),
        touch('p1', 'v3', T0 + 2 * HOUR, 'page_view', calculator),
        touch('p2', 'o1', T0 + 4 * HOUR, 'page_view', otherPage),
        touch('p1', 'v2', T0 + HOUR, 'page_view', calculator), // 3h late, grace 1h
      );
      expect(h.commands).toHaveLength(0);
      expect(h.decisions).toHaveLength(0);
    });

    it('orders distinct steps: A then B fires, B then A does not', async () => {
      const spec: TriggerSpec = {
        ...onEvent('compare_then_apply', 'x'),
        when: { sequence: { steps: [{ eventType: 'compare_rates' }, { eventType: 'start_application' }], within: '1h' } },
      };
      const h = await Harness.create({ rules: rules([spec]) });
      await h.send(consenting('p1'), touch('p1', 'b1', T0, 'start_application'), touch('p1', 'a1', T0 + MINUTE, 'compare_rates'));
      expect(h.commands).toHaveLength(0);
      await h.send(touch('p1', 'b2', T0 + 2 * MINUTE, 'start_application'));
      expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['a1', 'b2']]);
    });

    it('completes a sequence seen half on each side of a profile merge', async () => {
      const h = await Harness.create({ rules: rules([mortgageSequence]) });
      await h.send(
        consenting('known'),
        touch('anon', 'v1', T0, 'page_view', calculator),
        touch('anon', 'v2', T0 + MINUTE, 'page_view', calculator),
        touch('known', 'v3', T0 + 2 * MINUTE, 'page_view', calculator),
      );
      expect(h.commands).toHaveLength(0);
      await h.send(merge('anon', 'known', T0 + 3 * MINUTE));
      expect(h.commands.map((c) => [c.profileId, c.trace.causeEventIds])).toEqual([['known', ['v1', 'v2', 'v3']]]);
    });
  });

  describe('absences decided by event-time timers', () => {
    it('fires at the deadline plus the grace when no purchase came, not before', async () => {
      const h = await Harness.create({ rules: rules([cartAbandoned]) });
      await h.send(consenting('p1'), touch('p1', 'cart1', T0, 'add_to_cart'));
      await h.advanceTo(T0 + 30 * MINUTE + 5 * MINUTE - 1);
      expect(h.commands).toHaveLength(0);
      await h.advanceTo(T0 + 35 * MINUTE);
      expect(h.commands).toHaveLength(1);
      expect(h.commands[0]).toMatchObject({ triggerId: 'cart_abandoned', createdAt: T0 + 35 * MINUTE, commandId: commandId('cart_abandoned', 'p1', 'cart1') });
      expect(h.commands[0]!.trace.causeEventIds).toEqual(['cart1']);
      await h.advanceTo(T0 + 10 * HOUR);
      expect(h.commands).toHaveLength(1);
    });

    it('measures from the last cart activity and names every add_to_cart of the episode', async () => {
      const h = await Harness.create({ rules: rules([cartAbandoned]) });
      await h.send(consenting('p1'), touch('p1', 'cart1', T0, 'add_to_cart'), touch('p1', 'cart2', T0 + 20 * MINUTE, 'add_to_cart'));
      await h.advanceTo(T0 + 40 * MINUTE);
      expect(h.commands).toHaveLength(0);
      await h.advanceTo(T0 + 55 * MINUTE);
      expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['cart1', 'cart2']]);
    });

    it('is cancelled by a purchase inside the window, and leaves no state behind once past the grace', async () => {
      const h = await Harness.create({ rules: rules([cartAbandoned]) });
      await h.send(consenting('p1'), touch('p1', 'cart1', T0, 'add_to_cart'), touch('p1', 'buy1', T0 + 10 * MINUTE, 'purchase'));
      expect((await h.profile('p1')).engagement.patterns).toEqual({ cart_abandoned: { kind: 'absence', starts: [], cancels: [T0 + 10 * MINUTE] } });
      await h.advanceTo(T0 + 2 * HOUR);
      expect(h.commands).toHaveLength(0);
      expect(h.decisions).toHaveLength(0);
      expect((await h.profile('p1')).engagement.patterns).toEqual({});
    });

    it('is cancelled by a purchase that arrives after the deadline but inside the grace', async () => {
      const h = await Harness.create({ rules: rules([cartAbandoned]) });
      await h.send(consenting('p1'), touch('p1', 'cart1', T0, 'add_to_cart'));
      // stream time passes the deadline (T0+30m) but not deadline + grace
      await h.send(touch('p2', 'other', T0 + 33 * MINUTE, 'page_view'));
      expect(h.commands).toHaveLength(0);
      await h.send(touch('p1', 'buy1', T0 + 29 * MINUTE, 'purchase'));
      await h.advanceTo(T0 + 2 * HOUR);
      expect(h.commands).toHaveLength(0);
    });

    it('is cancelled by a purchase that arrived before the add_to_cart it follows in event time', async () => {
      const h = await Harness.create({ rules: rules([cartAbandoned]) });
      await h.send(consenting('p1'), touch('p1', 'buy1', T0 + 3 * MINUTE, 'purchase'), touch('p1', 'cart1', T0, 'add_to_cart'));
      await h.advanceTo(T0 + 2 * HOUR);
      expect(h.commands).toHaveLength(0);
    });

    it('still fires when the purchase came after the deadline, and for a new cart after a purchase', async () => {
      const h = await Harness.create({ rules: rules([cartAbandoned], { cooldown: '1ms' }) });
      await h.send(
        consenting('p1'),
        touch('p1', 'cart1', T0, 'add_to_cart'),
        touch('p1', 'buy1', T0 + 31 * MINUTE, 'purchase'), // after the deadline
        touch('p1', 'cart2', T0 + 32 * MINUTE, 'add_to_cart'),
      );
      await h.advanceTo(T0 + 35 * MINUTE);
      await h.advanceTo(T0 + 67 * MINUTE);
      expect(h.commands.map((c) => c.trace.causeEventIds)).toEqual([['cart1'], ['cart2']]);
    });

    it('keeps the deadline across a profile merge (the winner re-arms the timer)', async () => {
      const h = await Harness.create({ rules: rules([cartAbandoned]) });
      await h.send(consenting('known'), touch('anon', 'cart1', T0, 'add_to_cart'), merge('anon', 'known', T0 + MINUTE));
      await h.advanceTo(T0 + 40 * MINUTE);
      expect(h.commands.map((c) => [c.profileId, c.trace.causeEventIds])).toEqual([['known', ['cart1']]]);
    });
  });
});

describe('pattern functions', () => {
  it('finds steps in order within the window, greedily from each start', () => {
    // bit 0: step A, bit 1: step B
    const events: [number, string, number][] = [
      [0, 'a1', 1],
      [5, 'b1', 2],
      [20, 'a2', 1],
      [25, 'b2', 2],
    ];
    expect(findSequence(events, 2, 10)).toEqual([0, 1]);
    expect(findSequence(events.slice(1), 2, 10)).toEqual([1, 2]);
    expect(findSequence([[0, 'a', 1], [11, 'b', 2]], 2, 10)).toBeUndefined();
    expect(findSequence([[0, 'a', 3], [1, 'b', 3]], 2, 10)).toEqual([0, 1]);
  });

  it('splits absences into episodes: extended by openings, cancelled by a cancel at or before the deadline', () => {
    const s = (at: number, id: string): [number, string] => [at, id];
    expect(absenceEpisodes([s(0, 'a'), s(20, 'b'), s(100, 'c')], [45], 30)).toEqual([
      { starts: [s(0, 'a'), s(20, 'b')], due: 50, cancelled: true },
      { starts: [s(100, 'c')], due: 130, cancelled: false },
    ]);
    expect(absenceEpisodes([s(0, 'a')], [31], 30)).toEqual([{ starts: [s(0, 'a')], due: 30, cancelled: false }]);
    expect(absenceEpisodes([s(10, 'a')], [10], 30)).toEqual([{ starts: [s(10, 'a')], due: 40, cancelled: true }]);
    expect(absenceEpisodes([s(10, 'a')], [5], 30)).toEqual([{ starts: [s(10, 'a')], due: 40, cancelled: false }]);
  });
});

describe('merging engagement', () => {
  it('shares no pattern progress with either side: the triggers node changes the merged profile\'s in place', () => {
    // The winner is the committed store value (frozen in the driver), the loser is forwarded downstream
    // with the merge: a progress taken over as it was made the triggers node throw in the driver
    // (a simulated month sent merges to the dead-letter topic) and changed both behind their owners' backs live.
    const winner = emptyEngagement();
    winner.patterns.cart_abandoned = { kind: 'absence', starts: [[1_000, 'w1']], cancels: [] };
    const loser = emptyEngagement();
    loser.patterns.browse_then_apply = { kind: 'sequence', events: [[2_000, 'l1', 1]] };
    deepFreeze(winner);
    deepFreeze(loser);
    const merged = mergeEngagement(winner, loser);
    const absence = merged.patterns.cart_abandoned as AbsenceProgress;
    const sequence = merged.patterns.browse_then_apply as SequenceProgress;
    addAbsenceStart(absence, 3_000, 'w2');
    settleAbsence(absence, 60_000, 0, 3_000);
    addSequenceEvent(sequence, [4_000, 'l2', 2], 2, 60_000, 0);
    expect(absence.starts.map(([, id]) => id)).toEqual(['w1', 'w2']);
    expect((winner.patterns.cart_abandoned as AbsenceProgress).starts).toEqual([[1_000, 'w1']]);
    expect((loser.patterns.browse_then_apply as SequenceProgress).events).toEqual([[2_000, 'l1', 1]]);
  });
});
