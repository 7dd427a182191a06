import { loadConfigFile, parseConfigFile } from '../../../config/load';
import { join } from 'node:path';
import { scoringFile } from '../../../processors/scoring/config';
import { segmentsFile } from '../../../processors/segmentation/config';
import { Evaluation } from '../../../processors/segmentation/rules';
import { emptyProfile } from '../../../processors/model/profile-state';
import { ConfigError } from '../../../runtime/errors';
import { partitionForKey } from '../../../runtime/kafka/partitioner';
import { CONFIG_DIR, DAY, HOUR, MINUTE, ProfileHarness, T0, page, shippedRules, tp, type Rules } from '../profile/harness';

const scoring = parseConfigFile(
  scoringFile,
  'scoring.yaml',
  `
explain: 3
scores:
  interest:
    halfLife: 7d
    when: { category: [mortgages] }
    signals: { eventType: { page_view: 5 } }
`,
  undefined,
);

const RULES = `
counters:
  mortgage_views: { match: { eventType: [page_view], category: [mortgages] }, window: 7d }
  logins: { match: { eventType: [login] }, window: 30d }
  spend: { match: { eventType: [purchase] }, window: 30d, aggregate: sum }
segments:
  mortgage_shopper: { when: { counter: mortgage_views, atLeast: 3 } }
  dormant: { when: { all: [ { known: true }, { noEvent: logins, within: 30d } ] } }
  big_spender: { when: { counter: spend, atMost: -10000 } }
  reachable_gold:
    when:
      all:
        - any: [ { consent: { channel: email, purpose: marketing } }, { consent: { channel: sms, purpose: marketing } } ]
        - { trait: tier, in: [gold, platinum] }
        - not: { channel: call_centre, within: 1d }
        - { lastSeenWithin: 10d }
        - { score: interest, atMost: 12 }
`;

function rules(text = RULES): Rules {
  return { profile: shippedRules().profile, scoring, segments: parseConfigFile(segmentsFile, 'segments.yaml', text, scoring) };
}

const mortgageView = (at: number) => tp(at, 'web', 'page_view', { page: page('/mortgages/rates', 'mortgages') });
const known = [{ type: 'customer_id', value: 'c-1' }];

describe('real-time segmentation', () => {
  it('leaves every segment when the person is erased', async () => {
    const h = await ProfileHarness.create(rules());
    for (const hours of [0, 1, 2]) h.touch('p', mortgageView(T0 + hours * HOUR));
    await h.run();
    expect((await h.profile('p')).segments).toEqual({ mortgage_shopper: { since: T0 + 2 * HOUR } });
    h.erase('p', T0 + 3 * HOUR);
    await h.run();
    expect(h.memberships().at(-1)).toEqual({ profileId: 'p', segment: 'mortgage_shopper', change: 'exit', at: T0 + 3 * HOUR, reason: 'erasure', values: {} });
  });

  it('enters when a windowed count reaches its bound, with the values that decided it', async () => {
    const h = await ProfileHarness.create(rules());
    h.touch('p', mortgageView(T0)).touch('p', mortgageView(T0 + HOUR));
    await h.run();
    expect(h.memberships()).toEqual([]);
    h.touch('p', mortgageView(T0 + 2 * HOUR));
    await h.run();
    expect(h.memberships()).toEqual([
      expect.objectContaining({ profileId: 'p', segment: 'mortgage_shopper', change: 'enter', at: T0 + 2 * HOUR, reason: 'touchpoint', values: { 'mortgage_views in 7d': 3 } }),
    ]);
    expect(h.updates().at(-1)!.segmentsEntered).toEqual(['mortgage_shopper']);
    expect((await h.profile('p')).segments).toEqual({ mortgage_shopper: { since: T0 + 2 * HOUR } });
  });

  it('exits by timer when the window slides past, with no new event', async () => {
    const h = await ProfileHarness.create(rules());
    [0, 1, 2].forEach((i) => h.touch('p', mortgageView(T0 + i * HOUR)));
    await h.run();
    // the window is (now - 7d, now]: the first view leaves it at T0 + 7d
    await h.advanceTime(T0 + 7 * DAY - 1);
    expect(h.memberships().filter((m) => m.change === 'exit')).toEqual([]);
    await h.advanceTime(T0 + 30 * DAY);
    const exits = h.memberships().filter((m) => m.change === 'exit');
    expect(exits).toEqual([
      expect.objectContaining({ segment: 'mortgage_shopper', at: T0 + 7 * DAY, reason: 'timer', values: { 'mortgage_views in 7d': 2 } }),
    ]);
    const update = h.updates().at(-1)!;
    expect([update.cause, update.touchpoint, update.segmentsExited]).toEqual(['timer', null, ['mortgage_shopper']]);
    // the counter's events are pruned once no window can read them
    expect((await h.profile('p')).counters).toEqual({});
    expect((await h.profile('p')).segments).toEqual({});
  });

  it('enters by timer when "no login in 30 days" comes true', async () => {
    const h = await ProfileHarness.create(rules());
    h.touch('p', tp(T0, 'app', 'login', { identifiers: known }));
    h.touch('p', tp(T0 + 10 * DAY, 'app', 'login', { identifiers: known }));
    await h.run();
    expect(h.memberships()).toEqual([]);
    await h.advanceTime(T0 + 60 * DAY);
    expect(h.memberships()).toEqual([
      expect.objectContaining({ segment: 'dormant', change: 'enter', at: T0 + 40 * DAY, reason: 'timer', values: { known: 1, 'logins in 30d': 0 } }),
    ]);
    h.touch('p', tp(T0 + 61 * DAY, 'app', 'login', { identifiers: known }));
    await h.run();
    expect(h.memberships().at(-1)).toEqual(expect.objectContaining({ segment: 'dormant', change: 'exit', at: T0 + 61 * DAY, reason: 'touchpoint' }));
  });

  it('sums amounts over a window', async () => {
    const h = await ProfileHarness.create(rules());
    const purchase = (at: number, minorUnits: number) => tp(at, 'web', 'purchase', { amount: { minorUnits, currency: 'EUR' } });
    h.touch('p', purchase(T0, -6000)).touch('p', tp(T0 + 1, 'web', 'purchase')).touch('p', purchase(T0 + DAY, -5000));
    await h.run();
    expect(h.memberships()).toEqual([expect.objectContaining({ segment: 'big_spender', change: 'enter', values: { 'spend in 30d': -11000 } })]);
    await h.advanceTime(T0 + 31 * DAY);
    expect(h.memberships().at(-1)).toEqual(expect.objectContaining({ segment: 'big_spender', change: 'exit', at: T0 + 30 * DAY, reason: 'timer' }));
  });

  it('combines conditions with all, any and not over consent, traits, channels, last seen and scores', async () => {
    const h = await ProfileHarness.create(rules());
    h.touch('p', tp(T0, 'web', 'consent_updated', { consent: { channel: 'sms', purpose: 'marketing', granted: true } }));
    await h.run();
    expect(h.memberships()).toEqual([]);
    h.touch('p', tp(T0 + MINUTE, 'web', 'page_view', { attributes: { 'trait.tier': 'platinum' } }));
    await h.run();
    expect(h.memberships().map((m) => [m.segment, m.change, m.reason])).toEqual([['reachable_gold', 'enter', 'touchpoint']]);
    expect(h.memberships()[0]!.values).toEqual({
      'consent email|marketing': 0,
      'consent sms|marketing': 1,
      'trait tier in gold,platinum': 1,
      'channel call_centre in 1d': 0,
      'ms since last seen': 0,
      'score interest': 0,
    });
    // a call: not { channel: call_centre, within: 1d } fails, until a day has passed
    h.touch('p', tp(T0 + 2 * MINUTE, 'call_centre', 'call'));
    await h.run();
    expect(h.memberships().at(-1)).toEqual(expect.objectContaining({ change: 'exit', reason: 'touchpoint' }));
    await h.advanceTime(T0 + 2 * MINUTE + DAY);
    expect(h.memberships().at(-1)).toEqual(expect.objectContaining({ change: 'enter', reason: 'timer', at: T0 + 2 * MINUTE + DAY }));
    // and out again 10 days after the person was last seen
    await h.advanceTime(T0 + 20 * DAY);
    expect(h.memberships().at(-1)).toEqual(expect.objectContaining({ change: 'exit', reason: 'timer', at: T0 + 2 * MINUTE + 10 * DAY }));
    // back, but with the consent withdrawn: stays out
    h.touch('p', tp(T0 + 21 * DAY, 'web', 'consent_updated', { consent: { channel: 'sms', purpose: 'marketing', granted: false } }));
    await h.run();
    expect(h.memberships()).toHaveLength(4);
  });

  it('counts a late record only if it is inside the window relative to stream time', async () => {
    const h = await ProfileHarness.create(rules());
    h.touch('other', tp(T0 + 10 * DAY, 'web', 'page_view'));
    // 8 days before stream time: outside the 7 day window, never counted
    h.touch('p', mortgageView(T0 + 2 * DAY));
    // 5 days before: counted
    h.touch('p', mortgageView(T0 + 5 * DAY));
    await h.run();
    expect((await h.profile('p')).counters).toEqual({ mortgage_views: [[T0 + 5 * DAY, 1]] });
    // the score still takes both, decayed
    expect((await h.profile('p')).scores.interest!.value).toBeCloseTo(5 + 5 * Math.pow(2, -3 / 7), 12);
  });

  it('after a merge, the winner enters with reason merge and the loser exits', async () => {
    const h = await ProfileHarness.create(rules());
    h.touch('winner', mortgageView(T0)).touch('winner', mortgageView(T0 + HOUR));
    ['a', 'b', 'c'].forEach((_, i) => h.touch('loser', mortgageView(T0 + 2 * HOUR + i)));
    await h.run();
    expect(h.memberships().map((m) => [m.profileId, m.change])).toEqual([['loser', 'enter']]);
    h.merge('loser', 'winner', T0 + 3 * HOUR);
    await h.run();
    expect(h.memberships().slice(1)).toEqual([
      expect.objectContaining({ profileId: 'winner', segment: 'mortgage_shopper', change: 'enter', reason: 'merge', at: T0 + 3 * HOUR, values: { 'mortgage_views in 7d': 5 } }),
      expect.objectContaining({ profileId: 'loser', segment: 'mortgage_shopper', change: 'exit', reason: 'merge', at: T0 + 3 * HOUR }),
    ]);
    // the membership lasts since the loser entered it
    expect((await h.profile('winner')).segments).toEqual({ mortgage_shopper: { since: T0 + 2 * HOUR + 2 } });
    expect(h.updates().at(-1)).toEqual(expect.objectContaining({ cause: 'merge', segmentsEntered: ['mortgage_shopper'] }));
  });

  it('after a merge, counts the loser\'s events even when they are ahead of the winner\'s partition', async () => {
    // Live, a loser can hold events later than the merge itself (they reached it before the link
    // did), on another partition whose stream time ran ahead of the winner's.
    const h = await ProfileHarness.create(rules(), 2);
    const [winner, loser] = ['w-1', 'l-1'];
    expect(partitionForKey(Buffer.from(winner), 2)).not.toBe(partitionForKey(Buffer.from(loser), 2));
    h.touch(winner, tp(T0, 'web', 'login', { identifiers: known }));
    [2, 3, 4].forEach((m) => h.touch(loser, mortgageView(T0 + m * MINUTE)));
    await h.run();
    h.merge(loser, winner, T0 + MINUTE);
    await h.run();
    expect((await h.profile(winner)).segments).toEqual({ mortgage_shopper: { since: T0 + 4 * MINUTE } });
  });

  it('evaluates 30 rules over shared leaves', () => {
    const lines = ['counters:', '  views: { match: { eventType: [page_view] }, window: 7d }', 'segments:'];
    for (let i = 0; i < 30; i++) {
      lines.push(`  s${i}: { when: { all: [ { counter: views, atLeast: ${(i % 10) + 1} }, { any: [ { known: true }, { lastSeenWithin: ${i + 1}d } ] } ] } }`);
    }
    const segments = parseConfigFile(segmentsFile, 'segments.yaml', lines.join('\n'), scoring);
    expect(segments.segments).toHaveLength(30);
    // 10 distinct counts, one known, 30 last-seen windows
    expect(segments.leaves).toHaveLength(41);
    const state = emptyProfile('p', T0);
    state.counters.views = [1, 2, 3, 4].map((i) => [T0 + i * HOUR, 1]);
    const ev = new Evaluation(segments);
    ev.run(state, T0 + 5 * DAY);
    const holding = segments.segments.filter((s) => ev.holds(s)).map((s) => s.name);
    // at most 4 views needed, and last seen (T0) within more than 5 days
    expect(holding).toEqual(['s10', 's11', 's12', 's13', 's20', 's21', 's22', 's23']);
    // the earliest change: s5's 6 day last-seen window ends (the views leave the 7 day window later)
    expect(ev.nextChange()).toBe(T0 + 6 * DAY);
  });
});

describe('config/segments.yaml', () => {
  it('loads the shipped rules for the bank and the retailer', () => {
    const r = shippedRules();
    expect(r.segments.segments.map((s) => s.name)).toEqual(['mortgage_shopper', 'bill_payer_at_risk', 'card_churn_risk', 'dormant_customer', 'cart_abandoner', 'anonymous_researcher']);
    expect(loadConfigFile(segmentsFile, join(CONFIG_DIR, 'segments.yaml'), r.scoring).counterByName.get('bill_payments')!.retention).toBe(90 * DAY);
  });

  it("runs the retailer's cart abandoner: in 30 minutes after leaving with a full cart, out when the cart is a day old", async () => {
    const h = await ProfileHarness.create(shippedRules());
    h.touch('p', tp(T0, 'web', 'page_view', { page: page('/products/shoe-1', 'shoes') }));
    h.touch('p', tp(T0 + MINUTE, 'web', 'add_to_cart', { page: page('/products/shoe-1', 'shoes') }));
    await h.run();
    await h.advanceTime(T0 + 2 * DAY);
    const cart = h.memberships().filter((m) => m.segment === 'cart_abandoner');
    expect(cart.map((m) => [m.change, m.at, m.reason])).toEqual([
      ['enter', T0 + 31 * MINUTE, 'timer'],
      ['exit', T0 + MINUTE + DAY, 'timer'],
    ]);
    expect(cart[0]!.values).toEqual({ 'cart_adds in 1d': 1, 'purchases in 1d': 0, 'ms since last seen': 30 * MINUTE });
  });

  it("runs the bank's bill payer at risk: in 35 days after the last of regular payments", async () => {
    const h = await ProfileHarness.create(shippedRules());
    for (const day of [0, 30, 60]) h.touch('p', tp(T0 + day * DAY, 'online_banking', 'bill_payment', { identifiers: known }));
    await h.run();
    await h.advanceTime(T0 + 130 * DAY);
    const risk = h.memberships().filter((m) => m.segment === 'bill_payer_at_risk');
    expect(risk.map((m) => [m.change, m.at, m.reason])).toEqual([
      ['enter', T0 + 95 * DAY, 'timer'],
      // when the day-30 payment leaves the 90 day window, one payment is no longer "regular"
      ['exit', T0 + 120 * DAY, 'timer'],
    ]);
  });

  const problem = (when: string) => () => parseConfigFile(segmentsFile, 'segments.yaml', `counters:\n  views: { match: { eventType: [page_view] }, window: 7d }\nsegments:\n  s:\n    when:\n${when}\n`, scoring);

  it('names an unknown counter with the path inside the file and the line', () => {
    expect(problem('      all:\n        - { known: true }\n        - { counter: veiws, atLeast: 3 }')).toThrow(ConfigError);
    expect(problem('      all:\n        - { known: true }\n        - { counter: veiws, atLeast: 3 }')).toThrow(
      /^segments\.yaml: segments\.s\.when\.all\[1\]\.counter \(line 8\): unknown counter 'veiws' \(counters in segments.yaml: views\)$/,
    );
  });

  it('names an unknown score', () => {
    expect(problem('      score: intrest\n      atLeast: 3')).toThrow(/^segments\.yaml: segments\.s\.when\.score \(line 6\): unknown score 'intrest' \(scores in scoring.yaml: interest\)$/);
  });

  it('names a bad window', () => {
    expect(problem('      counter: views\n      atLeast: 3\n      within: 7x')).toThrow(/^segments\.yaml: segments\.s\.when\.within \(line 8\): "7x" is not a duration/);
    expect(() => parseConfigFile(segmentsFile, 'segments.yaml', 'counters:\n  views:\n    match: {}\n    window: week\nsegments:\n  s: { when: { known: true } }\n', scoring)).toThrow(
      /^segments\.yaml: counters\.views\.window \(line 4\): "week" is not a duration/,
    );
  });

  it('names a value of the wrong type', () => {
    expect(problem('      counter: views\n      atLeast: three')).toThrow(/^segments\.yaml: segments\.s\.when\.atLeast \(line 7\): must be number, got "three"$/);
    expect(problem('      known: yes please')).toThrow(/^segments\.yaml: segments\.s\.when\.known \(line 6\): must be boolean, got "yes please"/);
  });

  it('names a condition that mixes two kinds, or has an unknown field', () => {
    expect(problem('      counter: views\n      score: interest\n      atLeast: 1')).toThrow(/segments\.s\.when \(line 5\): 'counter' and 'score' cannot be together in a condition: give exactly one of all, any, not, counter/);
    expect(problem('      counter: views\n      atleast: 1')).toThrow(/segments\.s\.when \(line 5\): unknown field 'atleast' for a 'counter' condition \(allowed: counter, atLeast, atMost, above, below, within\)$/);
    expect(problem('      any: []')).toThrow(/segments\.s\.when\.any \(line 6\): must NOT have fewer than 1 items/);
  });
});
