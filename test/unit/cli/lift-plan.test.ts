import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LIFT_PLAN_USAGE, liftPlan } from '../../../cli/lift-plan';
import { UsageError } from '../../../cli/args';

const ROOT = join(__dirname, '..', '..', '..');

describe('listening-post lift plan', () => {
  it('prints the people and days a ±2-point interval needs, for Newcombe’s interval and the always-valid one', () => {
    const out = liftPlan(['--control-rate', '12', '--lift', '10', '--holdout', '10', '--per-day', '800']);
    expect(out).toContain('22 % treated against 12 % in the control group (lift 10 points), 10 % of people held out');
    expect(out).toContain('±2 points');
    expect(out).toMatch(/once at the end \(Newcombe\): +11,973 people, 15 days at 800 a day/);
    expect(out).toMatch(/watched live \(always valid\): +29,324 people, 37 days at 800 a day/);
  });

  it('reads --half-width in points and gives no days without --per-day', () => {
    const out = liftPlan(['--control-rate', '12', '--lift', '10', '--holdout', '50', '--half-width', '4']);
    // a quarter of the ±2-point figure, 5,325
    expect(out).toMatch(/Newcombe\): +1,332 people$/m);
    expect(out).not.toContain('days');
  });

  it('takes a negative lift written --lift=-2 (a bare -2 would read as an option)', () => {
    expect(liftPlan(['--control-rate', '12', '--lift=-2', '--holdout', '50'])).toContain('10 % treated against 12 % in the control group (lift -2 points)');
  });

  it.each([
    [['--lift', '10', '--holdout', '10'], '--control-rate is required'],
    [['--control-rate', '12', '--holdout', '10'], '--lift is required'],
    [['--control-rate', '12', '--lift', '10'], '--holdout is required'],
    [['--control-rate', '120', '--lift', '10', '--holdout', '10'], '--control-rate 120: expected a number from 0 to 100'],
    [['--control-rate', 'x', '--lift', '10', '--holdout', '10'], '--control-rate x: expected a number from 0 to 100'],
    [['--control-rate', '12', '--lift', '10', '--holdout', '0'], '--holdout 0: expected a number above 0 and below 100'],
    [['--control-rate', '12', '--lift', '10', '--holdout', '10', '--half-width', '0'], '--half-width 0: expected a number above 0'],
    [['--control-rate', '12', '--lift', '10', '--holdout', '10', '--per-day=-5'], '--per-day -5: expected a number above 0'],
    [['--control-rate', '95', '--lift', '10', '--holdout', '10'], '--control-rate 95 --lift 10: control rate + lift must be in [0, 1]'],
    [['--control-rate', '0', '--lift', '0', '--holdout', '10'], '--control-rate 0 --lift 0: rates of 0 or 1 in both groups have no variance'],
    [['--control-rate', '12', '--lift', '10', '--holdout', '10', '--days', '3'], "Unknown option '--days'"],
  ])('refuses %j naming the option', (argv, message) => {
    expect(() => liftPlan(argv)).toThrow(UsageError);
    expect(() => liftPlan(argv)).toThrow(message);
  });

  it('is a command of listening-post: the plan on stdout, or exit 2 with the error and the usage', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'listening-post.ts'), 'lift', 'plan', ...args], { cwd: ROOT, encoding: 'utf8' });
    const ok = cli('--control-rate', '12', '--lift', '10', '--holdout', '50');
    expect([ok.status, ok.stdout]).toEqual([0, expect.stringContaining('5,325 people')]);
    const bad = cli('--control-rate', '12', '--lift', '10');
    expect([bad.status, bad.stderr]).toEqual([2, `error: --holdout is required\n\n${LIFT_PLAN_USAGE}`]);
  });
});
