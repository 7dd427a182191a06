import { liftEstimate } from '../../../processors/outcomes/lift';
import { combineLift } from '../../../processors/outcomes/merge';
import type { TriggerSpec } from '../../../processors/triggers/config';
import { holdoutGroup } from '../../../processors/triggers/eligibility';
import { DAY, grant, Harness, HOUR, MINUTE, onEvent, outcomesConfig, rules, T0, touch, type TestInput } from '../triggers/support';

const consenting = (id: string): TestInput => grant(id, `${id}-consent`, T0 - HOUR, '*', 'marketing');
const outcome = (profileId: string, eventId: string, at: number, eventType: string, commandId: string | null, extra = {}): TestInput =>
  touch(profileId, eventId, at, eventType, { outcome: { commandId, triggerId: null }, ...extra });

describe('liftEstimate', () => {
  it('gives rates, absolute and relative lift and a Wald 95% interval on known numbers', () => {
    const e = liftEstimate({ treated: 1000, treatedConverted: 120, control: 1000, controlConverted: 100 });
    expect(e.method).toBe('wald');
    expect(e.treatedRate).toBeCloseTo(0.12, 12);
    expect(e.controlRate).toBeCloseTo(0.1, 12);
    expect(e.lift).toBeCloseTo(0.02, 12);
    expect(e.relativeLift).toBeCloseTo(0.2, 12);
    expect(e.standardError).toBeCloseTo(0.013985706989637671, 12);
    expect(e.ci95![0]).toBeCloseTo(-0.0074114819980199455, 12);
    expect(e.ci95![1]).toBeCloseTo(0.04741148199801992, 12);
    expect(e.significant).toBe(false);

    const strong = liftEstimate({ treated: 2000, treatedConverted: 300, control: 2000, controlConverted: 200 });
    expect(strong.ci95![0]).toBeCloseTo(0.029560855038664492, 12);
    expect(strong.ci95![1]).toBeCloseTo(0.07043914496133549, 12);
    expect(strong.significant).toBe(true);
  });

  it('has no rate or lift for a group without exposures', () => {
    expect(liftEstimate({ treated: 0, treatedConverted: 0, control: 0, controlConverted: 0 })).toEqual({
      treatedRate: null,
      controlRate: null,
      lift: null,
      relativeLift: null,
      standardError: null,
      ci95: null,
      method: null,
      significant: false,
    });
    const noControl = liftEstimate({ treated: 10, treatedConverted: 3, control: 0, controlConverted: 0 });
    expect([noControl.treatedRate, noControl.controlRate, noControl.lift, noControl.ci95]).toEqual([0.3, null, null, null]);
  });

  it('uses the Agresti-Caffo interval when a group never (or always) converted, where Wald would claim certainty', () => {
    const e = liftEstimate({ treated: 50, treatedConverted: 5, control: 50, controlConverted: 0 });
    expect(e.method).toBe('agresti-caffo');
    expect(e.lift).toBeCloseTo(0.1, 12);
    expect(e.relativeLift).toBeNull();
    expect(e.standardError).toBeCloseTo(0.04822462518551195, 12);
    expect(e.ci95![0]).toBeCloseTo(0.0016353176222995147, 12);
    expect(e.ci95![1]).toBeCloseTo(0.1906723746853928, 12);
    const none = liftEstimate({ treated: 20, treatedConverted: 0, control: 20, controlConverted: 0 });
    expect(none.lift).toBe(0);
    expect(none.ci95![0]).toBeLessThan(0);
    expect(none.ci95![1]).toBeGreaterThan(0);
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
    });
    const totals = combineLift([r(0, 10, 5, 1), r(1, 12, 3, 1), r(0, 20, 7, 2), r(0, 15, 6, 1)]);
    expect(totals.get('offer')).toEqual({ treated: 10, treatedConverted: 3, control: 2, controlConverted: 0, asOf: 20, partitions: 2 });
  });
});

describe('outcomes processor', () => {
  const offer = onEvent('offer', 'login', { holdoutPercent: 50, cooldown: '1ms' });
  const find = (wanted: 'control' | 'treatment'): string =>
    Array.from({ length: 100 }, (_, i) => `person-${i}`).find((id) => holdoutGroup('test', 'offer', id, 50) === wanted)!;

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
