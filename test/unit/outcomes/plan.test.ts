import { alwaysValidInterval, newcombeInterval } from '../../../processors/outcomes/lift';
import { planLift } from '../../../processors/outcomes/plan';

describe('planLift', () => {
  it('reproduces the issue’s figures: ±2 points at 22 % against 12 % needs about 12,000 people at a 10 % holdout, 5,300 at 50 %', () => {
    // 1.96² · (0.22·0.78 / 0.9 + 0.12·0.88 / 0.1) / 0.02² = 11,973; with 0.5 and 0.5: 5,325
    expect(planLift({ controlRate: 0.12, lift: 0.1, holdout: 0.1 }).exposures).toBe(11_973);
    expect(planLift({ controlRate: 0.12, lift: 0.1, holdout: 0.5 }).exposures).toBe(5_325);
  });

  it('gives a Newcombe interval of about the planned width at the planned counts', () => {
    const { exposures } = planLift({ controlRate: 0.12, lift: 0.1, holdout: 0.1 });
    const [control, treated] = [Math.round(exposures * 0.1), Math.round(exposures * 0.9)];
    const [low, high] = newcombeInterval(Math.round(treated * 0.22), treated, Math.round(control * 0.12), control);
    expect((high - low) / 2).toBeCloseTo(0.02, 3);
  });

  it('needs more people for the always-valid interval, and about its planned width at its planned counts', () => {
    const plan = planLift({ controlRate: 0.12, lift: 0.1, holdout: 0.5 });
    expect(plan.alwaysValidExposures).toBeGreaterThan(2 * plan.exposures);
    const half = Math.round(plan.alwaysValidExposures / 2);
    const [low, high] = alwaysValidInterval(Math.round(half * 0.22), half, Math.round(half * 0.12), half);
    expect((high - low) / 2).toBeCloseTo(0.02, 3);
  });

  it('counts days of what is still needed at the given rate, whole days up', () => {
    const plan = planLift({ controlRate: 0.12, lift: 0.1, holdout: 0.1, exposuresPerDay: 1000, exposuresSoFar: 4_000 });
    expect([plan.remaining, plan.days]).toEqual([7_973, 8]);
    expect(plan.alwaysValidDays).toBe(Math.ceil((plan.alwaysValidExposures - 4_000) / 1000));
    const done = planLift({ controlRate: 0.12, lift: 0.1, holdout: 0.1, exposuresPerDay: 1000, exposuresSoFar: 50_000 });
    expect([done.remaining, done.days, done.alwaysValidRemaining, done.alwaysValidDays]).toEqual([0, 0, 0, 0]);
    expect(planLift({ controlRate: 0.12, lift: 0.1, holdout: 0.1 }).days).toBeNull();
  });

  it('refuses rates outside [0, 1], a holdout outside (0, 1), and rates with nothing to measure', () => {
    expect(() => planLift({ controlRate: 0.95, lift: 0.1, holdout: 0.1 })).toThrow(/control rate \+ lift must be in \[0, 1\]/);
    expect(() => planLift({ controlRate: 0.12, lift: 0.1, holdout: 1 })).toThrow(/holdout share/);
    expect(() => planLift({ controlRate: 0.12, lift: 0.1, holdout: 0.1, halfWidth: 0 })).toThrow(/half-width/);
    expect(() => planLift({ controlRate: 0, lift: 0, holdout: 0.1 })).toThrow(/no variance/);
  });
});
