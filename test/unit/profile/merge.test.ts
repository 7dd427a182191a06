import { parseConfigFile } from '../../../config/load';
import type { ProfileConfig } from '../../../processors/profile/config';
import type { ProfileState } from '../../../processors/model/profile-state';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { scoringFile } from '../../../processors/scoring/config';
import { segmentsFile } from '../../../processors/segmentation/config';
import { pruneCounters } from '../../../processors/segmentation/counters';
import { Evaluation } from '../../../processors/segmentation/rules';
import { DAY, HOUR, MINUTE, ProfileHarness, T0, page, tp, type Rules } from './harness';

/**
 * The merge property: folding history H1 into profile A and H2 into
 * profile B, then merging B into A, gives the state that one profile
 * reaches from H1 ∪ H2 (in time order), compared at the same final time.
 * Exact, except floating-point rounding of scores (relative 1e-9) and a
 * channel's current session, which a merge can only see shorter than it
 * was (each side kept only its latest one): processors/profile/merge.ts.
 * Bounds are small here (journey 6, 9 event ids, 5 events per counter) so
 * that truncation is exercised; explanations keep every signal.
 */

const scoring = parseConfigFile(
  scoringFile,
  'property-scoring.yaml',
  `
explain: 20
scores:
  engagement:
    halfLife: 5d
    signals:
      eventType: { login: 3, page_view: 1, search: 2, call: 2 }
      channel: { app: 1 }
      dwell: { perSecond: 0.05, max: 2 }
      frequency: 0.5
      recency: 4
  interest:
    halfLife: 2d
    when: { category: [mortgages] }
    signals:
      eventType: { page_view: 2, search: 3 }
      path: { /mortgages/calculator: 5, /mortgages: 1 }
      attribute: { calculator_completed: 6, "rate_type=fixed": 1 }
      medium: { paid_search: 2 }
      depth: { perPage: 0.5, max: 2 }
  churn:
    halfLife: 10d
    signals:
      eventType: { login: -1, bill_payment: -2, call: 3 }
      recency: -2
`,
  undefined,
);

const segments = parseConfigFile(
  segmentsFile,
  'property-segments.yaml',
  `
limits: { eventsPerCounter: 5 }
counters:
  page_views: { match: { eventType: [page_view] }, window: 7d }
  logins: { match: { eventType: [login] }, window: 30d }
  payments: { match: { eventType: [bill_payment, purchase, withdrawal] }, window: 30d, aggregate: sum }
  mortgage_views: { match: { category: [mortgages] }, window: 14d }
segments:
  active_browser: { when: { counter: page_views, atLeast: 3 } }
  lapsed: { when: { all: [ { known: true }, { noEvent: logins, within: 10d } ] } }
  big_payer: { when: { counter: payments, atMost: -10000 } }
  mortgage_keen:
    when:
      any:
        - { counter: mortgage_views, atLeast: 2, within: 3d }
        - { score: interest, atLeast: 15 }
  reachable: { when: { all: [ { consent: { channel: email, purpose: marketing } }, { not: { trait: tier, equals: silver } } ] } }
  app_user: { when: { channel: app, within: 5d } }
  recently_seen: { when: { lastSeenWithin: 2d } }
  engaged: { when: { score: engagement, atLeast: 8 } }
  churny: { when: { score: churn, atMost: -3 } }
`,
  scoring,
);

const profile: ProfileConfig = {
  sessionGap: 30 * MINUTE,
  sessionGapByChannel: { app: 10 * MINUTE },
  journeyLength: 6,
  recentEventIds: 9,
  viewInterval: MINUTE,
  retention: { inactiveAfter: null, pointersFor: null },
};

const rules: Rules = { profile, scoring, segments };

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS: Record<string, string[]> = {
  web: ['page_view', 'page_view', 'search', 'purchase', 'login', 'consent_updated'],
  app: ['login', 'page_view', 'transfer'],
  online_banking: ['bill_payment', 'balance_view', 'login'],
  call_centre: ['call', 'consent_updated'],
  email: ['email_open', 'email_click'],
  atm: ['withdrawal'],
};

interface Step {
  touchpoint: Touchpoint;
  side: 'A' | 'B';
}

/** One person's history, in time order, each event assigned to one of the two profiles that will merge. */
function history(seed: number): Step[] {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const share = pick([0, 0.2, 0.5, 0.8, 1]);
  const steps: Step[] = [];
  let at = T0;
  for (let i = between(3, 35); i > 0; i--) {
    at += pick([0, between(1, 10) * MINUTE, between(1, 48) * HOUR, between(1, 10) * DAY]);
    const channel = pick(Object.keys(EVENTS));
    const eventType = pick(EVENTS[channel]!);
    const category = pick(['mortgages', 'cards', null]);
    const extra: Partial<Touchpoint> = {
      identifiers: [pick([{ type: 'anonymous_id', value: 'a1' }, { type: 'anonymous_id', value: 'a2' }, { type: 'device_id', value: 'd1' }, { type: 'customer_id', value: 'c1' }])],
      sessionId: channel === 'web' || channel === 'app' ? pick([null, `${channel}-${Math.floor(at / DAY)}`]) : null,
      page: eventType === 'page_view' || eventType === 'search' ? page(`/${category ?? 'home'}/${pick(['rates', 'calculator', 'apply'])}`, category, { depth: between(1, 6), dwellMs: between(0, 90) * 1000 }) : null,
      source: random() < 0.3 ? { medium: pick(['paid_search', 'email', 'organic']), referrer: null, campaign: null, source: null } : null,
      amount: ['bill_payment', 'purchase', 'withdrawal', 'transfer'].includes(eventType) ? { minorUnits: -between(100, 9000), currency: 'EUR' } : null,
      consent: eventType === 'consent_updated' ? { channel: pick(['email', 'sms', '*']), purpose: pick(['marketing', 'service']), granted: random() < 0.6 } : null,
      timeZone: random() < 0.1 ? pick(['Europe/Dublin', 'Europe/Paris']) : null,
      attributes: {
        ...(random() < 0.2 ? { 'trait.tier': pick(['gold', 'silver']) } : {}),
        ...(random() < 0.2 ? { calculator_completed: '1' } : {}),
        ...(random() < 0.2 ? { rate_type: pick(['fixed', 'variable']) } : {}),
      },
    };
    const side = random() < share ? 'A' : 'B';
    const touchpoint = tp(at, channel, eventType, extra);
    steps.push({ touchpoint, side });
    // a producer retry: the same event again, right behind it, to the same profile
    if (random() < 0.05) steps.push({ touchpoint, side });
  }
  return steps;
}

async function finalState(harness: ProfileHarness, end: number): Promise<ProfileState> {
  await harness.advanceTime(end);
  const state = structuredClone(await harness.profile('A'));
  pruneCounters(state, segments, end);
  return state;
}

function evaluated(state: ProfileState, at: number): string[] {
  const ev = new Evaluation(segments);
  ev.run(state, at);
  return segments.segments.filter((s) => ev.holds(s)).map((s) => s.name);
}

function expectClose(actual: number | undefined, expected: number | undefined, what: string): void {
  if (actual === undefined || expected === undefined) {
    expect([what, actual]).toEqual([what, expected]);
    return;
  }
  const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
  if (Math.abs(actual - expected) > tolerance) expect([what, actual]).toEqual([what, expected]);
}

function expectSameState(merged: ProfileState, single: ProfileState, end: number): void {
  const { channels: mc, scores: ms, segments: mseg, ...mRest } = merged;
  const { channels: sc, scores: ss, segments: sseg, ...sRest } = single;
  expect(mRest).toEqual(sRest);

  expect(Object.keys(mc).sort()).toEqual(Object.keys(sc).sort());
  for (const name of Object.keys(sc)) {
    const [m, s] = [mc[name]!, sc[name]!];
    expect([name, m.count, m.lastAt, m.session?.lastAt]).toEqual([name, s.count, s.lastAt, s.session?.lastAt]);
    // the approximation: a merged session is at most as long as the real one
    expect(m.session!.startedAt).toBeGreaterThanOrEqual(s.session!.startedAt);
    expect(m.session!.depth).toBeLessThanOrEqual(s.session!.depth);
  }

  expect(Object.keys(ms).sort()).toEqual(Object.keys(ss).sort());
  for (const name of Object.keys(ss)) {
    const [m, s] = [ms[name]!, ss[name]!];
    expect([name, m.at, m.halfLife]).toEqual([name, s.at, s.halfLife]);
    expectClose(m.value, s.value, `${name}.value`);
    expectClose(m.recency, s.recency, `${name}.recency`);
    expect(Object.keys(m.contributions).sort()).toEqual(Object.keys(s.contributions).sort());
    for (const signal of Object.keys(s.contributions)) expectClose(m.contributions[signal], s.contributions[signal], `${name}.${signal}`);
  }

  expect(Object.keys(mseg).sort()).toEqual(Object.keys(sseg).sort());
  expect(Object.keys(sseg).sort()).toEqual(evaluated(single, end).sort());
}

describe('merge equivalence (property, on generated histories)', () => {
  const seeds = Array.from({ length: 120 }, (_, i) => 1000 + i);

  it.each(seeds.map((seed) => [seed]))('history %i: merging B into A equals one profile that saw everything', async (seed) => {
    const steps = history(seed);
    const random = prng(seed * 7919);
    const last = steps.at(-1)!.touchpoint.occurredAt;
    const mergeAt = last + Math.floor(random() * 2 * DAY);
    const end = mergeAt + Math.floor(random() * 40 * DAY);

    const split = await ProfileHarness.create(rules);
    for (const step of steps) split.touch(step.side, step.touchpoint);
    await split.run();
    split.merge('B', 'A', mergeAt);
    await split.run();

    const single = await ProfileHarness.create(rules);
    for (const step of steps) single.touch('A', step.touchpoint);
    await single.run();

    expectSameState(await finalState(split, end), await finalState(single, end), end);
    expect(await split.entry('B')).toEqual({ mergedInto: 'A', at: mergeAt });
  });
});
