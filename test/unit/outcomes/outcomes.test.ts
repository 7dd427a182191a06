import { alwaysValidInterval, liftEstimate, MIN_EXPOSURES_PER_GROUP, newcombeInterval, wilsonInterval, Z95 } from '../../../processors/outcomes/lift';
import { combineLift } from '../../../processors/outcomes/merge';
import type { TriggerSpec } from '../../../processors/triggers/config';
import { holdoutGroup } from '../../../processors/triggers/eligibility';
import { Rng } from '../../../simulator/random';
import { DAY, grant, Harness, HOUR, merge, MINUTE, onEvent, outcomesConfig, rules, T0, touch, type TestInput } from '../triggers/support';

const consenting = (id: string): TestInput => grant(id, `${id}-consent`, T0 - HOUR, '*', 'marketing');
const outcome = (profileId: string, eventId: string, at: number, eventType: string, commandId: string | null, extra = {}): TestInput =>
  touch(profileId, eventId, at, eventType, { outcome: { commandId, triggerId: null }, ...extra });

/** Binomial probabilities of 0..n successes (by recurrence, exact to rounding). */
function binomial(n: number, p: number): number[] {
  const probabilities = [(1 - p) ** n];
  for (let k = 1; k <= n; k++) probabilities.push((probabilities[k - 1]! * (n - k + 1) * p) / (k * (1 - p)));
  return probabilities;
}

/** The probability that an interval method covers p1 - p2, over every outcome of the two groups (exact, not sampled). */
function coverage(n1: number, p1: number, n2: number, p2: number, interval: (x1: number, x2: number) => [number, number]): number {
  const [b1, b2] = [binomial(n1, p1), binomial(n2, p2)];
  let covered = 0;
  for (let x1 = 0; x1 <= n1; x1++) {
    for (let x2 = 0; x2 <= n2; x2++) {
      const [low, high] = interval(x1, x2);
      if (low <= p1 - p2 && p1 - p2 <= high) covered += b1[x1]! * b2[x2]!;
    }
  }
  return covered;
}

function wald(x1: number, n1: number, x2: number, n2: number): [number, number] {
  const [p1, p2] = [x1 / n1, x2 / n2];
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return [p1 - p2 - Z95 * se, p1 - p2 + Z95 * se];
}

/**
 * The shares of simulated experiments in which Newcombe's interval and the
 * always-valid one, looked at after every exposure, ever leave out the true
 * lift. The always-valid interval holds Newcombe's (wider on both sides, as
 * b(V) > 1.96 sqrt(V) for every V), so it is computed only when Newcombe's
 * misses: the same answer for a fraction of the work.
 */
function everMissed({ sequences, exposures, holdout, treatedRate, controlRate }: { sequences: number; exposures: number; holdout: number; treatedRate: number; controlRate: number }): {
  newcombe: number;
  alwaysValid: number;
} {
  const rng = new Rng(16);
  const truth = treatedRate - controlRate;
  const misses = (interval: [number, number]) => truth < interval[0] || truth > interval[1];
  let [newcombe, alwaysValid] = [0, 0];
  for (let s = 0; s < sequences; s++) {
    let [n1, x1, n2, x2, newcombeMissed] = [0, 0, 0, 0, false];
    for (let i = 0; i < exposures; i++) {
      if (rng.chance(holdout)) [n2, x2] = [n2 + 1, x2 + (rng.chance(controlRate) ? 1 : 0)];
      else [n1, x1] = [n1 + 1, x1 + (rng.chance(treatedRate) ? 1 : 0)];
      if (n1 === 0 || n2 === 0 || !misses(newcombeInterval(x1, n1, x2, n2))) continue;
      newcombeMissed = true;
      if (misses(alwaysValidInterval(x1, n1, x2, n2))) {
        alwaysValid++;
        break;
      }
    }
    if (newcombeMissed) newcombe++;
  }
  return { newcombe: newcombe / sequences, alwaysValid: alwaysValid / sequences };
}

describe('liftEstimate', () => {
  it("gives rates, absolute and relative lift, and Newcombe's interval as published (1998, method 10)", () => {
    // Newcombe, Statistics in Medicine 17:873-890, Table II: 56/70 - 48/80 -> 0.0524 to 0.3339; 9/10 - 3/10 -> 0.1705 to 0.8090
    const a = liftEstimate({ treated: 70, treatedConverted: 56, control: 80, controlConverted: 48 });
    expect([a.treatedRate, a.controlRate]).toEqual([0.8, 0.6]);
    expect(a.lift).toBeCloseTo(0.2, 12);
    expect(a.relativeLift).toBeCloseTo(1 / 3, 12);
    expect(a.ci95!.map((x) => x.toFixed(4))).toEqual(['0.0524', '0.3339']);
    expect([a.enoughData, a.significant]).toEqual([true, true]);
    const b = liftEstimate({ treated: 10, treatedConverted: 9, control: 10, controlConverted: 3 });
    expect(b.ci95!.map((x) => x.toFixed(4))).toEqual(['0.1705', '0.8090']);
    // excludes 0, but 10 people a side is not enough to call it
    expect([b.enoughData, b.significant]).toEqual([false, false]);
  });

  it('keeps close to 95 % coverage where Wald does not: a small holdout, rates near 0', () => {
    for (const [n1, p1, n2, p2] of [
      [48, 0.2, 4, 0.1],
      [48, 0.3, 4, 0.2],
      [200, 0.05, 20, 0.02],
      [1000, 0.12, 100, 0.1],
    ] as const) {
      const newcombe = coverage(n1, p1, n2, p2, (x1, x2) => newcombeInterval(x1, n1, x2, n2));
      const naive = coverage(n1, p1, n2, p2, (x1, x2) => wald(x1, n1, x2, n2));
      expect({ n1, p1, n2, p2, newcombe: newcombe > 0.93 }).toEqual({ n1, p1, n2, p2, newcombe: true });
      expect(newcombe).toBeGreaterThan(naive);
    }
    // 48 treated against 4 held out, 30 % against 20 %: Wald's "95 %" interval covers about 61 % of the time
    expect(coverage(48, 0.3, 4, 0.2, (x1, x2) => wald(x1, 48, x2, 4))).toBeLessThan(0.7);
  });

  it("gives beside Newcombe's interval an always-valid one, around the same estimate and wider", () => {
    for (const [x1, n1, x2, n2] of [
      [56, 70, 48, 80],
      [5, 50, 0, 50],
      [2640, 12000, 144, 1200],
    ] as const) {
      const e = liftEstimate({ treated: n1, treatedConverted: x1, control: n2, controlConverted: x2 });
      const [low, high] = e.ci95AlwaysValid!;
      expect(e.ci95AlwaysValid).toEqual(alwaysValidInterval(x1, n1, x2, n2));
      expect(low).toBeLessThan(e.lift!);
      expect(high).toBeGreaterThan(e.lift!);
      expect(low).toBeLessThan(e.ci95![0]);
      expect(high).toBeGreaterThan(e.ci95![1]);
    }
  });

  it('peeking: the always-valid interval, looked at after every exposure, misses the truth at most alpha of the time; Newcombe’s far more', () => {
    // a 10 % holdout, 22 % against 12 %: 2,000 looks at each of 500 experiments
    const { newcombe, alwaysValid } = everMissed({ sequences: 500, exposures: 2000, holdout: 0.1, treatedRate: 0.22, controlRate: 0.12 });
    expect(alwaysValid).toBeLessThanOrEqual(0.05 + 0.01);
    // 42 %: with enough looks a fixed-sample interval leaves out the truth at some point (0.2 % for the always-valid one)
    expect(newcombe).toBeGreaterThan(0.3);
  });

  it('has no rate or lift for a group without exposures', () => {
    expect(liftEstimate({ treated: 0, treatedConverted: 0, control: 0, controlConverted: 0 })).toEqual({
      treatedRate: null,
      controlRate: null,
      lift: null,
      relativeLift: null,
      ci95: null,
      ci95AlwaysValid: null,
      enoughData: false,
      significant: false,
    });
    const noControl = liftEstimate({ treated: 10, treatedConverted: 3, control: 0, controlConverted: 0 });
    expect([noControl.treatedRate, noControl.controlRate, noControl.lift, noControl.ci95]).toEqual([0.3, null, null, null]);
  });

  it('gives an interval of real width when a group never (or always) converted', () => {
    const e = liftEstimate({ treated: 50, treatedConverted: 5, control: 50, controlConverted: 0 });
    expect(e.lift).toBeCloseTo(0.1, 12);
    expect(e.relativeLift).toBeNull();
    const [wilsonLow, wilsonHigh] = wilsonInterval(0, 50);
    expect(wilsonLow).toBe(0);
    expect(wilsonHigh).toBeGreaterThan(0.05);
    expect(e.ci95![1] - e.ci95![0]).toBeGreaterThan(0.1);
    const none = liftEstimate({ treated: 20, treatedConverted: 0, control: 20, controlConverted: 0 });
    expect(none.lift).toBe(0);
    expect(none.ci95![0]).toBeLessThan(0);
    expect(none.ci95![1]).toBeGreaterThan(0);
    const always = liftEstimate({ treated: 30, treatedConverted: 30, control: 30, controlConverted: 30 });
    expect(always.ci95![0]).toBeLessThan(0);
    expect(always.ci95![1]).toBeGreaterThan(0);
  });

  it('calls nothing significant below the stated minimum of exposures per group', () => {
    const few = liftEstimate({ treated: MIN_EXPOSURES_PER_GROUP - 1, treatedConverted: MIN_EXPOSURES_PER_GROUP - 1, control: 200, controlConverted: 0 });
    expect(few.ci95![0]).toBeGreaterThan(0);
    expect([few.enoughData, few.significant]).toEqual([false, false]);
    const enough = liftEstimate({ treated: MIN_EXPOSURES_PER_GROUP, treatedConverted: MIN_EXPOSURES_PER_GROUP, control: 200, controlConverted: 0 });
    expect([enough.enoughData, enough.significant]).toEqual([true, true]);
  });

  it('refuses impossible counts', () => {
    expect(() => liftEstimate({ treated: 5, treatedConverted: 6, control: 5, controlConverted: 0 })).toThrow(/more conversions than exposures/);
    expect(() => liftEstimate({ treated: -1, treatedConverted: 0, control: 5, controlConverted: 0 })).toThrow(/whole number/);
  });
});

describe('combineLift', () => {
  it('keeps the latest record of each partition and sums the partitions', () => {
    const r = (partition: number, asOf: number, treated: number, treatedConverted: number) => ({
      triggerId: 'offer',
      partition,
      asOf,
      treated,
      treatedConverted,
      control: 1,
      controlConverted: 0,
      repeatTreated: treated * 2,
      repeatTreatedConverted: treatedConverted,
      repeatControl: 3,
      repeatControlConverted: 1,
    });
    const totals = combineLift([r(0, 10, 5, 1), r(1, 12, 3, 1), r(0, 20, 7, 2), r(0, 15, 6, 1)]);
    expect(totals.get('offer')).toEqual({
      treated: 10,
      treatedConverted: 3,
      control: 2,
      controlConverted: 0,
      repeatTreated: 20,
      repeatTreatedConverted: 3,
      repeatControl: 6,
      repeatControlConverted: 2,
      asOf: 20,
      partitions: 2,
    });
  });
});

describe('outcomes processor', () => {
  const offer = onEvent('offer', 'login', { holdoutPercent: 50, cooldown: '1ms' });
  /** The `skip`-th profile id whose stable hash puts it in the group. */
  const find = (wanted: 'control' | 'treatment', skip = 0): string =>
    Array.from({ length: 100 }, (_, i) => `person-${i}`).filter((id) => holdoutGroup('test', 'offer', id, 50) === wanted)[skip]!;

  it('counts treatment sends and attributes a later purchase inside the window to the command, once', async () => {
    const p = find('treatment');
    const h = await Harness.create({ rules: rules([offer]) });
    await h.send(consenting(p), touch(p, 'l1', T0, 'login'));
    expect(h.lift.at(-1)).toMatchObject({ triggerId: 'offer', partition: 0, treated: 1, treatedConverted: 0, control: 0, controlConverted: 0, asOf: T0 });
    await h.send(touch(p, 'buy1', T0 + HOUR, 'purchase'), touch(p, 'buy2', T0 + 2 * HOUR, 'purchase'));
    expect(h.lift.map((l) => [l.treated, l.treatedConverted])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect((await h.profile(p)).engagement.exposures).toEqual([expect.objectContaining({ group: 'treatment', converted: true })]);
  });

  it('attributes conversions of control members to their hold-out', async () => {
    const p = find('control');
    const h = await Harness.create({ rules: rules([offer]) });
    await h.send(consenting(p), touch(p, 'l1', T0, 'login'), touch(p, 'buy1', T0 + DAY, 'purchase'));
    expect(h.commands).toHaveLength(0);
    expect(h.lift.at(-1)).toMatchObject({ treated: 0, control: 1, controlConverted: 1 });
  });

  it('does not attribute a conversion outside the attribution window, or one before the exposure', async () => {
    const p = find('treatment');
    const h = await Harness.create({ rules: rules([offer]), outcomes: outcomesConfig({ attributionWindow: '1d' }) });
    await h.send(consenting(p), touch(p, 'buy0', T0 - MINUTE, 'purchase'), touch(p, 'l1', T0, 'login'), touch(p, 'buy1', T0 + DAY + 1, 'purchase'));
    expect(h.lift.map((l) => l.treatedConverted)).toEqual([0]);
  });

  it('attributes a converted outcome to the command it names, and the purchase behind it does not count again', async () => {
    const p = find('treatment');
    const h = await Harness.create({ rules: rules([offer]) });
    await h.send(consenting(p), touch(p, 'l1', T0, 'login'));
    const id = h.commands[0]!.commandId;
    await h.send(outcome(p, 'o1', T0 + MINUTE, 'converted', id), touch(p, 'buy1', T0 + 2 * MINUTE, 'purchase'));
    expect(h.lift.map((l) => l.treatedConverted)).toEqual([0, 1]);
    expect((await h.profile(p)).engagement.sent[0]!.status).toBe('converted');
  });

  it('uses a trigger’s own conversion events and window when its rule has a measure', async () => {
    const mortgage: TriggerSpec = { ...onEvent('mortgage', 'login'), measure: { conversionEvents: ['application_submitted'], attributionWindow: '30d' } };
    const h = await Harness.create({ rules: rules([mortgage]) });
    await h.send(consenting('p1'), touch('p1', 'l1', T0, 'login'), touch('p1', 'buy', T0 + DAY, 'purchase'));
    expect(h.lift.map((l) => l.treatedConverted)).toEqual([0]);
    await h.send(touch('p1', 'app', T0 + 20 * DAY, 'application_submitted'));
    expect(h.lift.map((l) => l.treatedConverted)).toEqual([0, 1]);
  });

  it('counts a person once at their first exposure, repeats apart, and converts each at most once with repeated purchases', async () => {
    const p = find('treatment');
    const h = await Harness.create({ rules: rules([offer]) });
    await h.send(consenting(p), touch(p, 'l1', T0, 'login'), touch(p, 'l2', T0 + HOUR, 'login'), touch(p, 'l3', T0 + 2 * HOUR, 'login'));
    expect(h.lift.at(-1)).toMatchObject({ treated: 1, treatedConverted: 0, repeatTreated: 2, repeatTreatedConverted: 0 });
    await h.send(touch(p, 'buy1', T0 + 3 * HOUR, 'purchase'), touch(p, 'buy2', T0 + 4 * HOUR, 'purchase'));
    // the first exposure (the person) and the latest repeat; the repeat between them stays unconverted
    expect(h.lift.at(-1)).toMatchObject({ treated: 1, treatedConverted: 1, repeatTreated: 2, repeatTreatedConverted: 1 });
    expect((await h.profile(p)).engagement.exposures.map((x) => [x.repeat, x.converted])).toEqual([
      [false, true],
      [true, false],
      [true, true],
    ]);

    const q = find('control');
    const spaced = await Harness.create({ rules: rules([offer]) });
    await spaced.send(consenting(q), touch(q, 'l1', T0, 'login'), touch(q, 'buy1', T0 + MINUTE, 'purchase'));
    await spaced.send(touch(q, 'l2', T0 + HOUR, 'login'), touch(q, 'buy2', T0 + 2 * HOUR, 'purchase'));
    expect(spaced.lift.at(-1)).toMatchObject({ control: 1, controlConverted: 1, repeatControl: 1, repeatControlConverted: 1 });
  });

  it('counts a person who was control and treated alike: first exposure in the main counts, whichever group', async () => {
    const people = Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? find('control', i) : find('treatment', i)));
    const h = await Harness.create({ rules: rules([offer]) });
    await h.send(...people.map(consenting));
    for (const [i, at] of [T0, T0 + HOUR].entries()) await h.send(...people.map((person) => touch(person, `${person}-l${i}`, at, 'login')));
    expect(h.lift.at(-1)).toMatchObject({ treated: 3, control: 3, repeatTreated: 3, repeatControl: 3 });
  });

  it('counts two profiles of one person, each exposed before their merge, as one person: the later exposure becomes a repeat', async () => {
    const [a, b] = [find('treatment', 0), find('treatment', 1)];
    const h = await Harness.create({ rules: rules([offer]) });
    await h.send(consenting(a), consenting(b), touch(a, 'la', T0, 'login'), touch(b, 'lb', T0 + HOUR, 'login'), touch(b, 'buy', T0 + 2 * HOUR, 'purchase'));
    expect(h.lift.at(-1)).toMatchObject({ treated: 2, treatedConverted: 1, repeatTreated: 0, repeatTreatedConverted: 0 });
    await h.send(merge(b, a, T0 + 3 * HOUR));
    // b's exposure was the later one: it and its conversion are now a repeat's
    expect(h.lift.at(-1)).toMatchObject({ treated: 1, treatedConverted: 0, repeatTreated: 1, repeatTreatedConverted: 1 });
    expect((await h.profile(a)).engagement.exposures.map((x) => [x.at, x.repeat === true, x.converted])).toEqual([
      [T0, false, false],
      [T0 + HOUR, true, true],
    ]);
    // a merge of a person exposed on one side only changes no count
    const [c, d] = [find('treatment', 2), find('treatment', 3)];
    await h.send(consenting(c), touch(c, 'lc', T0 + 4 * HOUR, 'login'), touch(d, 'vd', T0 + 4 * HOUR, 'page_view'), merge(d, c, T0 + 5 * HOUR));
    expect(h.lift.at(-1)).toMatchObject({ treated: 2, repeatTreated: 1 });
  });

  it('gives a rule without its own conversion events only the default ones, and a rule with them only its own', async () => {
    const card: TriggerSpec = { ...onEvent('card', 'bill_payment'), measure: { conversionEvents: ['card_used'] } };
    const plain = onEvent('plain', 'login');
    const h = await Harness.create({ rules: rules([card, plain], { cooldown: '1ms' }), outcomes: outcomesConfig({ conversionEvents: ['purchase'] }) });
    await h.send(consenting('p1'), touch('p1', 'b1', T0, 'bill_payment'), touch('p1', 'l1', T0 + MINUTE, 'login'));
    const converted = () => Object.fromEntries(h.lift.map((l) => [l.triggerId, l.treatedConverted]));
    await h.send(touch('p1', 'use', T0 + HOUR, 'card_used'));
    expect(converted()).toEqual({ card: 1, plain: 0 });
    await h.send(touch('p1', 'buy', T0 + 2 * HOUR, 'purchase'));
    expect(converted()).toEqual({ card: 1, plain: 1 });
  });

  it('attributes a converted outcome without a command id only to the rule it names', async () => {
    const h = await Harness.create({ rules: rules([onEvent('first', 'bill_payment'), onEvent('second', 'login')], { cooldown: '1ms' }) });
    await h.send(consenting('p1'), touch('p1', 'b1', T0, 'bill_payment'), touch('p1', 'l1', T0 + MINUTE, 'login'));
    await h.send(touch('p1', 'c1', T0 + HOUR, 'converted', { outcome: { commandId: null, triggerId: 'first' } }));
    expect(h.lift.filter((l) => l.treatedConverted > 0).map((l) => l.triggerId)).toEqual(['first']);
  });

  it('moves a command’s status forward only, and records a dismissal once for fatigue', async () => {
    const h = await Harness.create({ rules: rules([onEvent('plain', 'login')]) });
    await h.send(consenting('p1'), touch('p1', 'l1', T0, 'login'));
    const id = h.commands[0]!.commandId;
    await h.send(outcome('p1', 'o1', T0 + 1000, 'shown', id), outcome('p1', 'o2', T0 + 2000, 'clicked', id), outcome('p1', 'o3', T0 + 3000, 'delivered', id));
    expect((await h.profile('p1')).engagement.sent.map((s) => s.status)).toEqual(['clicked']);
    await h.send(outcome('p1', 'o4', T0 + 4000, 'dismissed', id), outcome('p1', 'o5', T0 + 5000, 'dismissed', id));
    expect((await h.profile('p1')).engagement.dismissed).toEqual([{ at: T0 + 4000, triggerId: 'plain', commandId: id }]);
  });

  it('throttles lift records: after everyChanges changes, or maxInterval of event time, with a timer for the rest', async () => {
    const people = Array.from({ length: 6 }, (_, i) => `person-${i}`);
    const h = await Harness.create({
      rules: rules([onEvent('offer', 'login', { holdoutPercent: 0 })]),
      outcomes: outcomesConfig({ lift: { everyChanges: 3, maxInterval: '1h' } }),
    });
    await h.send(...people.map(consenting));
    await h.send(touch(people[0]!, 'l0', T0, 'login')); // first change: emitted at once
    expect(h.lift.map((l) => l.treated)).toEqual([1]);
    await h.send(touch(people[1]!, 'l1', T0 + MINUTE, 'login'), touch(people[2]!, 'l2', T0 + 2 * MINUTE, 'login'));
    expect(h.lift.map((l) => l.treated)).toEqual([1]); // 2 changes pending
    await h.send(touch(people[3]!, 'l3', T0 + 3 * MINUTE, 'login'));
    expect(h.lift.map((l) => l.treated)).toEqual([1, 4]); // 3rd change
    await h.send(touch(people[4]!, 'l4', T0 + 4 * MINUTE, 'login'));
    expect(h.lift.map((l) => l.treated)).toEqual([1, 4]);
    await h.advanceTo(T0 + 3 * MINUTE + HOUR - 1);
    expect(h.lift.map((l) => l.treated)).toEqual([1, 4]);
    await h.advanceTo(T0 + 3 * MINUTE + HOUR);
    expect(h.lift.map((l) => [l.treated, l.asOf])).toEqual([
      [1, T0],
      [4, T0 + 3 * MINUTE],
      [5, T0 + 3 * MINUTE + HOUR],
    ]);
    await h.advanceTo(T0 + 5 * HOUR);
    expect(h.lift).toHaveLength(3);
  });
});
