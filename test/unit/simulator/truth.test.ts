import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groundTruth, pairwisePrecisionRecall, readGroundTruth, writeGroundTruth, type TruthPerson } from '../../../simulator/truth';
import { truthPerson } from '../../support/truth';
import { personOf, simulate, type Simulation } from './support';

const JUNK = new Set(['null', '', '0', 'anonymous', 'undefined']);

/** A truth of hand-made people: each string is `type:value`, grouped into provable groups by the inner arrays. */
function people(spec: Record<string, string[][]>): { persons: TruthPerson[] } {
  return {
    persons: Object.entries(spec).map(([id, groups]) =>
      truthPerson(
        id,
        groups.flatMap((group, g) => group.map((key) => [...(key.split(':') as [string, string]), g] as const)),
      ),
    ),
  };
}

describe('pairwisePrecisionRecall', () => {
  // ann: 3 identifiers (3 pairs), bob: 2 (1 pair), cat: 1 (0 pairs) -> 4 true pairs
  const truth = people({
    ann: [['customer_id:A', 'email:ann@x.ie'], ['anonymous_id:a1']],
    bob: [['customer_id:B', 'anonymous_id:b1']],
    cat: [['anonymous_id:c1']],
  });

  it('scores an exact clustering 1.0 / 1.0', () => {
    const exact = { 'customer_id:A': 'P1', 'email:ann@x.ie': 'P1', 'anonymous_id:a1': 'P1', 'customer_id:B': 'P2', 'anonymous_id:b1': 'P2', 'anonymous_id:c1': 'P3' };
    expect(pairwisePrecisionRecall(truth, exact)).toEqual({ precision: 1, recall: 1, f1: 1, identifiers: 6, missing: 0, truePairs: 4, predictedPairs: 4, correctPairs: 4 });
    expect(pairwisePrecisionRecall(truth, new Map(Object.entries(exact))).precision).toBe(1);
  });

  it('lowers precision for a wrong merge and recall for a split', () => {
    // bob and cat merged: predicted pairs 3 (ann) + 3 (bob+cat) = 6, correct 4
    const merged = { 'customer_id:A': 'P1', 'email:ann@x.ie': 'P1', 'anonymous_id:a1': 'P1', 'customer_id:B': 'P2', 'anonymous_id:b1': 'P2', 'anonymous_id:c1': 'P2' };
    const m = pairwisePrecisionRecall(truth, merged);
    expect([m.precision, m.recall, m.predictedPairs, m.correctPairs]).toEqual([4 / 6, 1, 6, 4]);
    expect(m.f1).toBeCloseTo(0.8, 12);
    // ann's cookie left alone: correct 1 (ann) + 1 (bob) = 2 of 4
    const split = { 'customer_id:A': 'P1', 'email:ann@x.ie': 'P1', 'anonymous_id:a1': 'P9', 'customer_id:B': 'P2', 'anonymous_id:b1': 'P2', 'anonymous_id:c1': 'P3' };
    const s = pairwisePrecisionRecall(truth, split);
    expect([s.precision, s.recall]).toEqual([1, 0.5]);
  });

  it('counts identifiers the prediction lacks as alone, and ignores predicted identifiers the truth does not know', () => {
    const partial = { 'customer_id:A': 'P1', 'email:ann@x.ie': 'P1', 'customer_id:B': 'P2', 'anonymous_id:b1': 'P2', 'device_id:shared-tablet': 'P2', 'anonymous_id:unknown': 'P1' };
    const r = pairwisePrecisionRecall(truth, partial);
    expect(r).toMatchObject({ missing: 2, identifiers: 6, predictedPairs: 2, correctPairs: 2, truePairs: 4, precision: 1, recall: 0.5 });
  });

  it('measures against what trusted events proved when asked to', () => {
    const provableOnly = { 'customer_id:A': 'P1', 'email:ann@x.ie': 'P1', 'anonymous_id:a1': 'P7', 'customer_id:B': 'P2', 'anonymous_id:b1': 'P2', 'anonymous_id:c1': 'P3' };
    expect(pairwisePrecisionRecall(truth, provableOnly).recall).toBeCloseTo(2 / 4, 12);
    expect(pairwisePrecisionRecall(truth, provableOnly, { against: 'provable' })).toMatchObject({ precision: 1, recall: 1, truePairs: 2 });
  });

  it('looks identifiers up by the key it is given (the engine`s hashes)', () => {
    const hashed = { 'h(customer_id:A)': 'P1', 'h(email:ann@x.ie)': 'P1', 'h(anonymous_id:a1)': 'P1', 'h(customer_id:B)': 'P2', 'h(anonymous_id:b1)': 'P2', 'h(anonymous_id:c1)': 'P3' };
    const r = pairwisePrecisionRecall(truth, hashed, { key: (type, value) => `h(${type}:${value})` });
    expect([r.precision, r.recall, r.missing]).toEqual([1, 1, 0]);
    expect(pairwisePrecisionRecall(truth, hashed).missing).toBe(6);
  });

  it('is linear in identifiers: 200,000 identifiers in one cluster (2e10 pairs) are scored at once', () => {
    const ids = Array.from({ length: 200_000 }, (_, i) => `anonymous_id:${i}`);
    const big = people({ one: [ids] });
    const predicted = new Map(ids.map((k, i) => [k, i % 2 === 0 ? 'even' : 'odd']));
    const started = performance.now();
    const r = pairwisePrecisionRecall(big, predicted);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(r.truePairs).toBe((200_000 * 199_999) / 2);
    expect(r.precision).toBe(1);
    expect(r.recall).toBeCloseTo((2 * (100_000 * 99_999)) / 2 / ((200_000 * 199_999) / 2), 12);
  });
});

describe('the ground truth', () => {
  let sim: Simulation;
  beforeAll(() => {
    sim = simulate(41, 1_500, 21);
  });

  it('holds exactly the identifiers each person showed (normalised), shared devices apart', () => {
    const truth = groundTruth(sim.population, sim.generator);
    expect(truth.persons).toHaveLength(1_500);
    const owner = new Map<string, string>();
    for (const p of truth.persons) for (const i of p.identifiers) owner.set(`${i.type}:${i.value}`, p.id);
    const shared = new Set(truth.shared.map((s) => `${s.type}:${s.value}`));
    const seen = new Set<string>();
    const wrong: string[] = [];
    for (const t of sim.events) {
      for (const i of t.identifiers) {
        if (JUNK.has(i.value) || i.type === 'phone') continue; // phones: checked through the engine's normaliser in identity.test.ts
        const key = `${i.type}:${i.type === 'email' ? i.value.trim().toLowerCase() : i.value}`;
        seen.add(key);
        if (!shared.has(key) && owner.get(key) !== personOf(sim, t).id) wrong.push(`${t.eventId}: ${key} belongs to ${owner.get(key)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(seen.size).toBeGreaterThan(3_000);
    const truthKeys = [...owner.keys()].filter((k) => !k.startsWith('phone:'));
    expect(truthKeys.every((k) => seen.has(k))).toBe(true);
    expect(truth.shared.length).toBeGreaterThan(0);
    expect(truth.shared.every((s) => !owner.has(`${s.type}:${s.value}`))).toBe(true);
  });

  it('puts identifiers that met on an authenticated login in one provable group', () => {
    const truth = groundTruth(sim.population, sim.generator);
    const group = new Map<string, string>();
    for (const p of truth.persons) for (const i of p.identifiers) group.set(`${i.type}:${i.value}`, `${p.id}#${i.group}`);
    let logins = 0;
    for (const t of sim.events) {
      if (t.eventType !== 'login' || !t.authenticated) continue;
      const groups = new Set(t.identifiers.filter((i) => !JUNK.has(i.value) && i.type !== 'email').map((i) => group.get(`${i.type}:${i.value}`)).filter((g) => g !== undefined));
      expect(groups.size).toBe(1);
      logins++;
    }
    expect(logins).toBeGreaterThan(1_000);
    // and some cookies were never proven: the anonymous researchers' several devices
    const researchers = truth.persons.filter((p) => p.persona === 'anonymous_researcher' && p.identifiers.length >= 2);
    expect(researchers.some((p) => new Set(p.identifiers.map((i) => i.group)).size >= 2)).toBe(true);
  });

  it('carries each trigger`s true base rate and uplift from the personas file', () => {
    const truth = groundTruth(sim.population, sim.generator);
    expect(truth.triggers.cart_abandoned).toEqual({ baseRate: 0.12, uplift: 0.1, conversionEvent: 'purchase', conversionChannel: 'web', conversionDelayMs: [20 * 60_000, 86_400_000] });
    expect(truth.triggers.card_churn_retention!.conversionChannel).toBe('transaction');
    expect(truth.defaultTrigger.uplift).toBe(0);
    expect(truth.stats!.touchpoints).toBe(sim.events.length);
    expect(truth.through).toBe(new Date(sim.events[sim.events.length - 1]!.occurredAt).toISOString());
  });

  it('is written as JSON, one person per line, and read back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'truth-'));
    try {
      const file = join(dir, 'truth.json');
      const truth = groundTruth(sim.population, sim.generator);
      writeGroundTruth(file, truth);
      expect(readGroundTruth(file)).toEqual(truth);
      expect(readFileSync(file, 'utf8').split('\n').length).toBeGreaterThan(1_500);
      expect(() => readGroundTruth(join(__dirname, '../../../package.json'))).toThrow(/not a simulator ground truth/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
