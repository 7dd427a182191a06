import { Activity } from '../../../console/activity';
import type { EngagementCommand, EngagementDecision } from '../../../processors/triggers/records';
import type { TriggerLift } from '../../../processors/outcomes/lift';

const trace = (check: 'fatigue', passed: boolean) => ({ rule: 'a rule', causeEventIds: ['e1'], scores: {}, segments: [], checks: [{ check, passed, detail: passed ? '' : '3 of 3 per 1d' }] });
const command = (id: string, profileId: string, at: number, triggerId = 'cart_abandoned', channel = 'email'): EngagementCommand => ({
  commandId: id,
  profileId,
  triggerId,
  channel,
  action: 'email',
  contentRef: 'cart-reminder',
  priority: 50,
  createdAt: at,
  expiresAt: at + 3_600_000,
  trace: trace('fatigue', true),
});
const decision = (id: string, profileId: string, at: number, outcome: EngagementDecision['outcome'] = 'capped'): EngagementDecision => ({
  decisionId: id,
  profileId,
  triggerId: 'cart_abandoned',
  outcome,
  decidedAt: at,
  trace: trace('fatigue', false),
});
const lift = (partition: number, asOf: number, treated: number, control: number): TriggerLift => ({
  triggerId: 'cart_abandoned',
  partition,
  asOf,
  treated,
  treatedConverted: Math.floor(treated / 4),
  control,
  controlConverted: Math.floor(control / 10),
  repeatTreated: 0,
  repeatTreatedConverted: 0,
  repeatControl: 0,
  repeatControlConverted: 0,
});
const READY = { ready: true, instances: 1, tasks: 4, restoring: 0, waiting: null };

describe('Activity: what the console keeps of the engine outputs', () => {
  test("a person's page gets their commands and decisions newest first, with those of the profiles merged into them", () => {
    const activity = new Activity();
    activity.command(command('c1', 'p-a', 1_000), 0);
    activity.decision(decision('d1', 'p-b', 3_000), 0);
    activity.command(command('c2', 'p-a', 2_000), 0);
    activity.command(command('c3', 'p-other', 2_500), 0);
    activity.audit({ kind: 'merge', at: 2_200, eventId: 'e9', profileId: 'p-a', otherProfileId: 'p-b', identifierType: null, detail: 'login' });
    activity.audit({ kind: 'conflict', at: 2_300, eventId: 'e10', profileId: 'p-a', otherProfileId: 'p-c', identifierType: 'customer_id', detail: 'two customer ids' });
    const page = activity.personActivity('p-a');
    expect(page.commands.map((c) => c.commandId)).toEqual(['c2', 'c1']);
    expect(page.decisions.map((d) => d.decisionId)).toEqual(['d1']);
    expect(page.merges).toEqual([{ at: 2_200, eventId: 'e9', mergedProfileId: 'p-b', detail: 'login' }]);
    expect(activity.personActivity('p-b').merges).toEqual([]);
    // the merge undone (identity_correction): p-b's decisions are p-b's own again
    activity.audit({ kind: 'split', at: 2_400, eventId: 'fix', profileId: 'p-a', otherProfileId: 'p-b', identifierType: 'phone', detail: 'corrected' });
    expect(activity.personActivity('p-a').merges).toEqual([]);
    expect(activity.personActivity('p-a').decisions).toEqual([]);
    expect(activity.personActivity('p-b').decisions.map((d) => d.decisionId)).toEqual(['d1']);
  });

  test('a record read twice (a redelivery) is kept and counted once', () => {
    const activity = new Activity();
    activity.command(command('c1', 'p-a', 1_000), 0);
    activity.command(command('c1', 'p-a', 1_000), 0);
    activity.decision(decision('d1', 'p-a', 1_000), 0);
    activity.decision(decision('d1', 'p-a', 1_000), 0);
    expect(activity.snapshot(0, READY).totals).toEqual({ commands: 1, decisions: 1, deadLetters: 0, merges: 0 });
  });

  test('memory is bounded: entries per person and people, the least recently touched forgotten first', () => {
    const activity = new Activity({ people: 2, perPerson: 3 });
    for (let i = 0; i < 5; i++) activity.command(command(`a${i}`, 'p-a', i), 0);
    activity.command(command('b0', 'p-b', 0), 0);
    activity.command(command('a5', 'p-a', 5), 0);
    activity.command(command('c0', 'p-c', 0), 0);
    expect(activity.personActivity('p-a').commands.map((c) => c.commandId)).toEqual(['a5', 'a4', 'a3']);
    expect(activity.personActivity('p-b').commands).toEqual([]);
    expect(activity.personActivity('p-c').commands.map((c) => c.commandId)).toEqual(['c0']);
  });

  test('series count records at the time they are read, only once live, per second, end with the last complete bucket and slide with the clock', () => {
    const activity = new Activity({ bucketMs: 1_000, buckets: 3 });
    activity.command(command('history', 'p-a', 0), 500);
    expect(activity.snapshot(500, READY).series.times).toEqual([]);
    activity.goLive(10_000);
    activity.command(command('c1', 'p-a', 0, 'cart_abandoned', 'email'), 10_100);
    activity.command(command('c2', 'p-b', 0, 'cart_abandoned', 'sms'), 10_200);
    activity.decision(decision('d1', 'p-c', 0, 'quiet_hours'), 10_300);
    expect(activity.snapshot(10_500, READY).series).toMatchObject({ times: [], commandsByTrigger: { cart_abandoned: [] } });
    let live = activity.snapshot(11_000, READY);
    expect(live.series.times).toEqual([10_000]);
    expect(live.series.commandsByTrigger).toEqual({ cart_abandoned: [2] });
    expect(live.series.commandsByChannel).toEqual({ email: [1], sms: [1] });
    expect(live.series.suppressionsByOutcome).toEqual({ quiet_hours: [1] });
    activity.command(command('c3', 'p-d', 0), 12_400);
    live = activity.snapshot(13_000, READY);
    expect(live.series.times).toEqual([11_000, 12_000]);
    expect(live.series.commandsByTrigger).toEqual({ cart_abandoned: [0, 1] });
    live = activity.snapshot(20_000, READY);
    expect(live.series.times).toEqual([18_000, 19_000]);
    expect(live.series.commandsByTrigger).toEqual({ cart_abandoned: [0, 0] });
    expect(live.totals.commands).toBe(4);
  });

  test('touchpoint and dead-letter rates come from the difference between offset samples; lag is the latest', () => {
    const activity = new Activity({ bucketMs: 2_000, buckets: 3 });
    activity.goLive(4_000);
    activity.sample({ at: 4_000, rawEnd: 100, rawCommitted: 50, deadLetterEnd: 1, lag: [{ topic: 'touchpoints.raw', lag: 50 }] });
    activity.sample({ at: 5_000, rawEnd: 300, rawCommitted: 250, deadLetterEnd: 3, lag: [{ topic: 'touchpoints.raw', lag: 50 }] });
    activity.sample({ at: 5_500, rawEnd: 400, rawCommitted: 400, deadLetterEnd: 3, lag: [{ topic: 'touchpoints.raw', lag: 0 }] });
    const live = activity.snapshot(6_000, READY);
    expect(live.series.times).toEqual([4_000]);
    expect(live.series.touchpointsIn).toEqual([150]);
    expect(live.series.touchpointsProcessed).toEqual([175]);
    expect(live.series.deadLetters).toEqual([1]);
    expect(live.lag).toEqual([{ topic: 'touchpoints.raw', lag: 0 }]);
    expect(live.totals.deadLetters).toBe(2);
  });

  test('lift sums the latest record of each partition, in points with the always-valid interval', () => {
    const activity = new Activity();
    activity.liftRecord(lift(0, 1_000, 40, 40));
    activity.liftRecord(lift(0, 2_000, 80, 40));
    activity.liftRecord(lift(0, 1_500, 999, 999));
    activity.liftRecord(lift(1, 2_000, 20, 0));
    const [row] = activity.snapshot(0, READY).lift;
    expect(row).toMatchObject({ triggerId: 'cart_abandoned', treated: 100, treatedConverted: 20 + 5, control: 40, controlConverted: 4, enoughData: true });
    expect(row!.lift).toBeCloseTo(25 - 10, 6);
    expect(row!.low!).toBeLessThan(row!.lift!);
    expect(row!.high!).toBeGreaterThan(row!.lift!);
    expect(activity.triggerActivity('cart_abandoned').lift).toEqual(row);
  });

  test("segment sizes are enters minus exits, largest first; a segment's drill-down lists its latest changes", () => {
    const activity = new Activity();
    let at = 0;
    for (const [profileId, segment, change] of [
      ['p1', 'savers', 'enter'],
      ['p2', 'savers', 'enter'],
      ['p1', 'browsers', 'enter'],
      ['p2', 'savers', 'exit'],
      ['p3', 'browsers', 'enter'],
    ] as const) activity.membership({ profileId, segment, change, at: (at += 1_000), reason: change === 'exit' ? 'timer' : 'touchpoint' });
    expect(activity.snapshot(0, READY).segments).toEqual([
      { name: 'browsers', size: 2 },
      { name: 'savers', size: 1 },
    ]);
    expect(activity.segmentActivity('savers')).toEqual({
      name: 'savers',
      size: 1,
      changes: [
        { profileId: 'p2', change: 'exit', at: 4_000, reason: 'timer' },
        { profileId: 'p2', change: 'enter', at: 2_000, reason: 'touchpoint' },
        { profileId: 'p1', change: 'enter', at: 1_000, reason: 'touchpoint' },
      ],
    });
    expect(activity.segmentActivity('nobody')).toEqual({ name: 'nobody', size: 0, changes: [] });
  });

  test("a trigger's drill-down lists its latest commands and decisions", () => {
    const activity = new Activity();
    activity.command(command('c1', 'p-a', 1_000), 0);
    activity.command(command('x1', 'p-a', 1_500, 'mortgage'), 0);
    activity.decision(decision('d1', 'p-b', 2_000), 0);
    const drill = activity.triggerActivity('cart_abandoned');
    expect(drill.commands.map((c) => c.commandId)).toEqual(['c1']);
    expect(drill.decisions.map((d) => [d.decisionId, d.profileId])).toEqual([['d1', 'p-b']]);
    expect(activity.triggerActivity('nothing')).toEqual({ commands: [], decisions: [], lift: null });
  });
});
