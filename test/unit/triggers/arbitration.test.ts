import type { LiftCounts } from '../../../processors/outcomes/lift';
import { arbitrate, sampleUplift, type Contender, type LiftByTrigger } from '../../../processors/triggers/arbitration';
import type { ArbitrationMethod, TriggerSpec } from '../../../processors/triggers/config';
import { commandId, holdoutGroup } from '../../../processors/triggers/eligibility';
import { compileRules } from '../../../processors/triggers/rules';
import { beta, gamma, seededUniform } from '../../../processors/triggers/sampling';
import { grant, Harness, HOUR, MINUTE, onEvent, rules, T0, touch, type TestInput } from './support';

const counts = (treated: number, treatedConverted: number, control: number, controlConverted: number): LiftCounts => ({
  treated,
  treatedConverted,
  control,
  controlConverted,
});

/** A helps a little (105 vs 100 per 1000), B a lot (200 vs 100 per 1000). */
const MEASURED: LiftByTrigger = new Map([
  ['a', counts(1000, 105, 1000, 100)],
  ['b', counts(1000, 200, 1000, 100)],
]);
/** Under 30 per group: not enough data to act on. */
const TOO_FEW = counts(29, 20, 40, 2);

const compiled = compileRules(rules([onEvent('a', 'login', { priority: 90 }), onEvent('b', 'login', { priority: 10 })]));

/** The firings of rules a and b on one login of `person`. */
function firings(person: string): Contender[] {
  return ['a', 'b'].map((id) => ({ trigger: compiled.byId.get(id)!, firing: { causeAt: T0 }, commandId: commandId(id, person, `${person}-login`) }));
}

function winnerOf(person: string, method: ArbitrationMethod, lift: LiftByTrigger): string {
  return arbitrate(firings(person), method, lift).winner!.trigger.id;
}

const people = Array.from({ length: 100 }, (_, i) => `person-${i}`);

describe('seeded sampling', () => {
  it('draws the same sequence from the same seed and another from another seed', () => {
    const draws = (seed: string) => Array.from({ length: 5 }, seededUniform(seed));
    const seed = commandId('a', 'p1', 'e1');
    expect(draws(seed)).toEqual(draws(seed));
    expect(draws(seed)).not.toEqual(draws(commandId('a', 'p1', 'e2')));
    expect(draws(seed).every((u) => u >= 0 && u < 1)).toBe(true);
  });

  it('refuses a seed that is not a command id', () => {
    expect(() => seededUniform('not-an-id')).toThrow(/32 hex characters/);
  });

  it('draws Gamma and Beta variates with their means and variances', () => {
    const uniform = seededUniform(commandId('sampling', 'test', 'moments'));
    const moments = (xs: number[]) => {
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      return { mean, variance: xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length };
    };
    const g = moments(Array.from({ length: 20_000 }, () => gamma(3, uniform)));
    expect(g.mean).toBeCloseTo(3, 1);
    expect(g.variance).toBeCloseTo(3, 0);
    // Beta(21, 81): mean 0.2059, variance 0.00158
    const b = moments(Array.from({ length: 20_000 }, () => beta(21, 81, uniform)));
    expect(b.mean).toBeCloseTo(21 / 102, 2);
    expect(b.variance).toBeCloseTo((21 * 81) / (102 ** 2 * 103), 4);
  });

  it('refuses a gamma shape below 1 (a posterior never needs one)', () => {
    expect(() => gamma(0.5, seededUniform(commandId('a', 'b', 'c')))).toThrow(/>= 1/);
  });
});

describe('arbitration', () => {
  it('by priority, sends the highest priority whatever the lift says', () => {
    const { winner, details } = arbitrate(firings('person-1'), 'priority', MEASURED);
    expect(winner!.trigger.id).toBe('a');
    expect([...details.values()]).toEqual(['highest priority of 2 firings (90)', 'outranked by a (priority 90 vs 10)']);
  });

  it('by expected value, nearly always sends the rule that clearly helps more, over a higher priority', () => {
    const wins = people.filter((p) => winnerOf(p, 'expected-value', MEASURED) === 'b').length;
    expect(wins).toBeGreaterThanOrEqual(95);
  });

  it('weighs the uplift by what a conversion is worth', () => {
    const valued = compileRules(rules([onEvent('a', 'login', { priority: 10, value: 10 }), onEvent('b', 'login', { priority: 90, value: 1 })]));
    const lift: LiftByTrigger = new Map([
      ['a', counts(1000, 150, 1000, 100)],
      ['b', MEASURED.get('b')!],
    ]);
    const wins = people.filter((p) => {
      const contenders = firings(p).map((c) => ({ ...c, trigger: valued.byId.get(c.trigger.id)! }));
      return arbitrate(contenders, 'expected-value', lift).winner!.trigger.id === 'a';
    }).length;
    // a's +5 points × 10 against b's +10 points × 1
    expect(wins).toBeGreaterThanOrEqual(95);
  });

  it('still lets the rule that helps less win now and then (it explores)', () => {
    const close: LiftByTrigger = new Map([
      ['a', counts(100, 12, 100, 10)],
      ['b', counts(100, 14, 100, 10)],
    ]);
    const winners = new Set(people.map((p) => winnerOf(p, 'expected-value', close)));
    expect(winners).toEqual(new Set(['a', 'b']));
  });

  it('decides the same firings alike every time (the draw is seeded by the command id)', () => {
    const close: LiftByTrigger = new Map([
      ['a', counts(100, 12, 100, 10)],
      ['b', counts(100, 14, 100, 10)],
    ]);
    const decideAll = () => people.map((p) => [...arbitrate(firings(p), 'expected-value', close).details.values()]);
    expect(decideAll()).toEqual(decideAll());
  });

  describe('with too little data, priority decides', () => {
    it('between two rules without data', () => {
      const { winner, details } = arbitrate(firings('person-1'), 'expected-value', new Map([['b', TOO_FEW]]));
      expect(winner!.trigger.id).toBe('a');
      expect([...details.values()]).toEqual([
        'no data yet for a (0 treated, 0 control; 30 per group needed): priority 90, highest of 2 firings',
        'outranked by a (no data yet: priority 90 vs 10)',
      ]);
    });

    it('for a rule without data above every rule with data: it is explored', () => {
      const lift: LiftByTrigger = new Map([
        ['a', TOO_FEW],
        ['b', MEASURED.get('b')!],
      ]);
      expect(people.every((p) => winnerOf(p, 'expected-value', lift) === 'a')).toBe(true);
    });

    it('against a rule without data below the rules with data: it loses, whatever the draws', () => {
      const lift: LiftByTrigger = new Map([
        ['a', counts(1000, 100, 1000, 150)],
        ['b', TOO_FEW],
      ]);
      expect(people.every((p) => winnerOf(p, 'expected-value', lift) === 'a')).toBe(true);
      const { details } = arbitrate(firings('person-1'), 'expected-value', lift);
      expect([...details.values()][1]).toBe('outranked by a: no data yet for b (29 treated, 40 control; 30 per group needed): priority 10 vs a\'s 90');
    });
  });

  it('names in the trace the expected values compared and the draws they came from', () => {
    const [a, b] = firings('person-7');
    const { winner, details } = arbitrate([a!, b!], 'expected-value', MEASURED);
    const drawA = sampleUplift(MEASURED.get('a')!, a!.commandId);
    const drawB = sampleUplift(MEASURED.get('b')!, b!.commandId);
    expect(winner).toBe(b);
    const text = (x: number) => String(Number(x.toPrecision(3)));
    const points = (x: number) => `${x < 0 ? '-' : '+'}${Math.abs(x * 100).toFixed(1)} pts`;
    expect(details.get(b!)).toBe(`highest expected value of 2 firings: expected value ${text(drawB)} (uplift draw ${points(drawB)} × value 1) vs a ${text(drawA)}`);
    expect(details.get(a!)).toBe(`outranked by b: expected value ${text(drawA)} (uplift draw ${points(drawA)} × value 1) vs b ${text(drawB)}`);
  });
});

describe('expected-value arbitration in the engine', () => {
  const consenting = (id: string): TestInput => grant(id, `${id}-consent`, T0 - HOUR, '*', 'marketing', true);
  /** Fires alone on `alone`, and together with the other rule on a login; measured on its own goal event. */
  const rule = (id: string, alone: string, priority: number): TriggerSpec => ({
    ...onEvent(id, alone, { priority, holdoutPercent: 50, cooldown: '1ms' }),
    when: { event: { eventType: [alone, 'login'] } },
    measure: { conversionEvents: [`${id}_goal`] },
  });
  const setup = (method: ArbitrationMethod) => ({ rules: { ...rules([rule('a', 'page_view', 90), rule('b', 'search', 10)]), arbitration: { method } } });

  /** 100 people exposed to each rule alone; b's treated people all reach b's goal, nobody reaches a's. */
  function history(): TestInput[] {
    return people.flatMap((p, i) => {
      const at = T0 + i * MINUTE;
      const inputs = [consenting(p), touch(p, `${p}-view`, at, 'page_view'), touch(p, `${p}-search`, at + 1000, 'search')];
      if (holdoutGroup('test', 'b', p, 50) === 'treatment') inputs.push(touch(p, `${p}-goal`, at + 2000, 'b_goal'));
      return inputs;
    });
  }

  /** Treated by both rules, so the winner is sent and the loser is the only decision. */
  const newcomer = Array.from({ length: 50 }, (_, i) => `newcomer-${i}`).find((p) => ['a', 'b'].every((r) => holdoutGroup('test', r, p, 50) === 'treatment'))!;
  const login = (): TestInput[] => [consenting(newcomer), touch(newcomer, `${newcomer}-login`, T0 + 3 * HOUR, 'login')];

  it('reads the lift counts of the task and sends the rule that measurably works, over a higher priority', async () => {
    const h = await Harness.create(setup('expected-value'));
    await h.send(...history());
    await h.send(...login());
    expect(h.commands.filter((c) => c.profileId === newcomer).map((c) => c.triggerId)).toEqual(['b']);
    const outranked = h.decisions.filter((d) => d.profileId === newcomer);
    expect(outranked.map((d) => [d.triggerId, d.outcome])).toEqual([['a', 'outranked']]);
    expect(outranked[0]!.trace.checks.at(-1)!.detail).toMatch(/^outranked by b: expected value -?0\.\d+ \(uplift draw [+-]\d+\.\d pts × value 1\) vs b 0\.9\d*$/);
  });

  it('keeps priority when the method is priority, on the same history', async () => {
    const h = await Harness.create(setup('priority'));
    await h.send(...history());
    await h.send(...login());
    expect(h.commands.filter((c) => c.profileId === newcomer).map((c) => c.triggerId)).toEqual(['a']);
    expect(h.decisions.filter((d) => d.profileId === newcomer).map((d) => [d.triggerId, d.outcome])).toEqual([['b', 'outranked']]);
  });
});
