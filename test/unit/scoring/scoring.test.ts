import { loadConfigFile, parseConfigFile } from '../../../config/load';
import { join } from 'node:path';
import { emptyProfile } from '../../../processors/model/profile-state';
import { profileView } from '../../../processors/profile/view';
import { scoringFile } from '../../../processors/scoring/config';
import { segmentsFile } from '../../../processors/segmentation/config';
import { ConfigError } from '../../../runtime/errors';
import { CONFIG_DIR, DAY, HOUR, ProfileHarness, T0, page, shippedRules, tp, type Rules } from '../profile/harness';

const MODEL = `
explain: 3
scores:
  interest:
    halfLife: 1d
    when: { category: [mortgages] }
    signals:
      eventType: { page_view: 2, search: 4 }
      medium: { paid_search: 3 }
      path: { /mortgages: 1, /mortgages/calculator: 5 }
      attribute: { calculator_completed: 10, "rate_type=fixed": 2 }
      dwell: { perSecond: 0.1, max: 3 }
      depth: { perPage: 1, max: 2 }
      frequency: 1
      recency: 6
  engagement:
    halfLife: 7d
    signals:
      eventType: { login: 5 }
      channel: { app: 1 }
`;

function rules(): Rules {
  const scoring = parseConfigFile(scoringFile, 'scoring.yaml', MODEL, undefined);
  const segments = parseConfigFile(segmentsFile, 'segments.yaml', 'counters: {}\nsegments:\n  interested: { when: { score: interest, atLeast: 10 } }\n', scoring);
  return { profile: shippedRules().profile, scoring, segments };
}

const mortgagePage = (path: string, extra = {}) => page(path, 'mortgages', extra);

describe('n=1 scoring', () => {
  it('halves a score after one half-life of event time with no events', async () => {
    const r = rules();
    const h = await ProfileHarness.create(r);
    // eventType 2 + path 5 + frequency 1 + recency 6 = 14
    h.touch('p', tp(T0, 'web', 'page_view', { page: mortgagePage('/mortgages/calculator') }));
    await h.run();
    expect((await h.profile('p')).scores.interest!.value).toBeCloseTo(14, 12);

    // a touchpoint the score does not look at, one half-life later: the score is not touched...
    h.touch('p', tp(T0 + DAY, 'web', 'page_view', { page: page('/cards', 'cards') }));
    await h.run();
    const update = h.updates().at(-1)!;
    // ...but its value at that time is half
    expect(update.scoresBefore.interest).toBeCloseTo(7, 12);
    const profile = await h.profile('p');
    expect(profile.scores.interest).toEqual(expect.objectContaining({ at: T0, value: 14 }));
    expect(profileView(profile, r.scoring, T0 + 2 * DAY).scores.find((s) => s.name === 'interest')!.value).toBeCloseTo(3.5, 12);
  });

  it('decays past a segment threshold on a timer, with no new event', async () => {
    const h = await ProfileHarness.create(rules());
    // page_view 2 + path 1 + frequency 1 + recency 6 = 10: enters; the search adds 4 + 1 + 1 (recency counts once): 16
    h.touch('p', tp(T0, 'web', 'page_view', { page: mortgagePage('/mortgages/rates') }));
    h.touch('p', tp(T0, 'web', 'search', { page: mortgagePage('/mortgages/rates') }));
    await h.run();
    expect(h.memberships().map((m) => [m.change, m.at, m.reason])).toEqual([['enter', T0, 'touchpoint']]);
    // 16 decays to 10 after log2(1.6) half-lives
    const crossing = T0 + Math.floor(DAY * Math.log2(1.6)) + 1;
    await h.advanceTime(crossing - 1);
    expect(h.memberships()).toHaveLength(1);
    await h.advanceTime(crossing);
    const exit = h.memberships()[1]!;
    expect([exit.change, exit.at, exit.reason]).toEqual(['exit', crossing, 'timer']);
    expect(exit.values['score interest']).toBeLessThan(10);
    expect(exit.values['score interest']).toBeGreaterThan(9.99999);
  });

  it('scores every signal and explains the largest contributions; the value stays exact', async () => {
    const r = rules();
    const h = await ProfileHarness.create(r);
    h.touch('p', tp(T0, 'web', 'search', {
      page: mortgagePage('/mortgages/calculator/step-2', { dwellMs: 45_000, depth: 4 }),
      source: { medium: 'paid_search', referrer: 'www.google.com', campaign: null, source: null },
      attributes: { calculator_completed: 'yes', rate_type: 'fixed' },
    }));
    await h.run();
    const score = (await h.profile('p')).scores.interest!;
    // search 4, paid_search 3, longest path prefix 5 (not /mortgages 1 too), calculator 10, fixed 2,
    // dwell min(3, 4.5) 3, depth min(2, 4) 2, frequency 1, recency 6
    expect(score.value).toBeCloseTo(36, 12);
    expect(score.recency).toBe(6);
    // only the 3 largest are kept (explain: 3); the value is not their sum
    expect(score.contributions).toEqual({ 'attribute:calculator_completed': 10, 'path:/mortgages/calculator': 5, 'eventType:search': 4 });
    const view = profileView(await h.profile('p'), r.scoring, T0).scores.find((s) => s.name === 'interest')!;
    expect(view.topContributions).toEqual({ 'attribute:calculator_completed': 10, recency: 6, 'path:/mortgages/calculator': 5 });
  });

  it('adds frequency for every event, but counts recency for the latest one only', async () => {
    const h = await ProfileHarness.create(rules());
    for (let i = 0; i < 3; i++) h.touch('p', tp(T0 + i * HOUR, 'web', 'view', { page: mortgagePage('/other') }));
    await h.run();
    const score = (await h.profile('p')).scores.interest!;
    const decay = (hours: number) => Math.pow(2, -hours / 24);
    expect(score.contributions.frequency).toBeCloseTo(1 + decay(1) + decay(2), 12);
    expect(score.recency).toBe(6);
    expect(score.value).toBeCloseTo(1 + decay(1) + decay(2) + 6, 12);
  });

  it('gives the same score whatever order events arrive in (a late event adds its decayed weight)', async () => {
    const events = [0, 5, 30].map((hours) => tp(T0 + hours * HOUR, 'web', 'page_view', { page: mortgagePage('/mortgages/rates') }));
    const inOrder = await ProfileHarness.create(rules());
    events.forEach((e) => inOrder.touch('p', e));
    await inOrder.run();
    const late = await ProfileHarness.create(rules());
    [events[2]!, events[0]!, events[1]!].forEach((e) => late.touch('p', e));
    await late.run();
    const [a, b] = [(await inOrder.profile('p')).scores.interest!, (await late.profile('p')).scores.interest!];
    expect(b.at).toBe(a.at);
    expect(b.value).toBeCloseTo(a.value, 12);
    expect(b.recency).toBeCloseTo(a.recency!, 12);
  });

  it('scores anonymous profiles, and only touchpoints that match a score', async () => {
    const h = await ProfileHarness.create(rules());
    h.touch('anon', tp(T0, 'app', 'login', { identifiers: [{ type: 'device_id', value: 'd-1' }] }));
    await h.run();
    const p = await h.profile('anon');
    expect(p.identifiers.customer_id).toBeUndefined();
    expect(p.scores.engagement!.value).toBe(6);
    expect(p.scores.interest).toBeUndefined();
    expect(h.updates()[0]!.scoresBefore).toEqual({ interest: 0, engagement: 0 });
  });

  it('sets scoresBefore to the values just before the update, at its event time', async () => {
    const h = await ProfileHarness.create(rules());
    h.touch('p', tp(T0, 'app', 'login')).touch('p', tp(T0 + 7 * DAY, 'app', 'login'));
    await h.run();
    const [first, second] = h.updates();
    expect(first!.scoresBefore.engagement).toBe(0);
    expect(second!.scoresBefore.engagement).toBeCloseTo(3, 12);
    expect(second!.profile.scores.engagement!.value).toBeCloseTo(9, 12);
  });

  it('drops a score that is no longer in the model', async () => {
    const h = await ProfileHarness.create(rules());
    const old = emptyProfile('old', T0);
    old.scores.retired = { value: 1, at: T0, halfLife: DAY, contributions: {} };
    h.touch('p', tp(T0, 'app', 'login'));
    h.pipe({ profileId: 'p', at: T0 + 1, body: { kind: 'state', from: 'old', into: 'p', state: Buffer.from(JSON.stringify(old)) } });
    await h.run();
    expect(h.updates().at(-1)!.cause).toBe('merge');
    expect(Object.keys((await h.profile('p')).scores)).toEqual(['engagement']);
  });
});

describe('config/scoring.yaml', () => {
  it('loads the shipped model: five scores for a bank and a retailer', () => {
    const model = loadConfigFile(scoringFile, join(CONFIG_DIR, 'scoring.yaml'), undefined);
    expect(model.scores.map((s) => s.name)).toEqual(['engagement', 'intent.mortgage', 'intent.cards', 'churn_risk', 'purchase_intent']);
    expect(model.byName.get('intent.mortgage')!.halfLife).toBe(7 * DAY);
  });

  const bad = (line3: string) => `explain: 3\nscores:\n  interest:\n${line3}\n    signals: { frequency: 1 }\n`;

  it('names the file, path and line of a bad half-life', () => {
    expect(() => parseConfigFile(scoringFile, 'scoring.yaml', bad('    halfLife: 7x'), undefined)).toThrow(ConfigError);
    expect(() => parseConfigFile(scoringFile, 'scoring.yaml', bad('    halfLife: 7x'), undefined)).toThrow(
      /^scoring\.yaml: scores\.interest\.halfLife \(line 4\): "7x" is not a duration: write a positive whole number and a unit/,
    );
  });

  it('names an unknown signal with its path and line', () => {
    const text = 'explain: 3\nscores:\n  interest:\n    halfLife: 1d\n    signals:\n      eventTyp: { login: 1 }\n';
    expect(() => parseConfigFile(scoringFile, 'scoring.yaml', text, undefined)).toThrow(/^scoring\.yaml: scores\.interest\.signals \(line 5\): unknown field 'eventTyp'/);
  });

  it('names a weight of the wrong type', () => {
    const text = 'explain: 3\nscores:\n  interest:\n    halfLife: 1d\n    signals:\n      eventType:\n        login: high\n';
    expect(() => parseConfigFile(scoringFile, 'scoring.yaml', text, undefined)).toThrow(/^scoring\.yaml: scores\.interest\.signals\.eventType\.login \(line 7\): must be number/);
  });

  it('names a score name that segment rules could not refer to', () => {
    const text = 'explain: 3\nscores:\n  Intent Mortgage:\n    halfLife: 1d\n    signals: { frequency: 1 }\n';
    expect(() => parseConfigFile(scoringFile, 'scoring.yaml', text, undefined)).toThrow(/^scoring\.yaml: scores\.Intent Mortgage \(line 3\): 'Intent Mortgage' is not a valid name/);
  });
});
