import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planLift } from '../../../processors/outcomes/plan';
import { VariantCollector } from '../../../replay/collector';
import { DiffTracker } from '../../../replay/diff';
import { OutputDecoder, outputTopics, type DecisionTrace, type EngagementCommand, type EngagementDecision } from '../../../replay/records';
import { liftRows } from '../../../replay/report';
import { diffLines, loadRuleSet } from '../../../replay/rules';
import { commonAxis, CounterSeries, cumulative, MAX_BUCKETS } from '../../../replay/series';
import { ConfigError } from '../../../runtime/errors';
import type { OutputRecord } from '../../../runtime/records';
import { SchemaCatalog } from '../../../runtime/serde/schema-catalog';
import { SCHEMAS_DIR } from '../../../topology';
import { CONFIG_DIR, DAY, HOUR, MINUTE, T0 } from '../../support/product';
import { rulesDir } from './scenario';

/** The pieces of the report model on records made up here, with numbers small enough to check by eye. */

const catalog = SchemaCatalog.load(SCHEMAS_DIR);
const topics = outputTopics('');
const decoder = new OutputDecoder(catalog);
const trace: DecisionTrace = { rule: 'r', causeEventIds: ['e1'], scores: {}, segments: [], checks: [{ check: 'consent', passed: true, detail: 'ok' }] };

function record(topic: string, type: string, value: object): OutputRecord {
  const header = Buffer.from([0, 0, 0, 0, 1]);
  return { topic, partition: 0, key: null, value: Buffer.concat([header, catalog.type(type).toBuffer(value)]), headers: {}, timestamp: 0 };
}

const command = (id: string, triggerId: string, channel: string, at: number, profileId = `p-${id}`): EngagementCommand => ({
  commandId: id,
  profileId,
  triggerId,
  channel,
  action: 'offer',
  contentRef: 'c',
  priority: 1,
  createdAt: at,
  expiresAt: at + HOUR,
  trace,
});
const decision = (id: string, triggerId: string, outcome: EngagementDecision['outcome'], at: number, profileId = `p-${id}`): EngagementDecision => ({ decisionId: id, profileId, triggerId, outcome, decidedAt: at, trace });
const membership = (segment: string, change: 'enter' | 'exit', at: number) => ({ profileId: 'p', segment, change, at, reason: 'touchpoint', values: {} });
const lift = (triggerId: string, partition: number, asOf: number, treated: number, treatedConverted: number, control: number, controlConverted: number) => ({
  triggerId,
  partition,
  treated,
  treatedConverted,
  control,
  controlConverted,
  asOf,
});

describe('counter series', () => {
  it('keeps exact sums per bucket and widens its buckets as the range grows', () => {
    const s = new CounterSeries();
    s.add(T0, 'a');
    s.add(T0 + 30_000, 'a', 2);
    s.add(T0 + 5 * MINUTE, 'b');
    expect(s.widthMs).toBe(MINUTE);
    s.add(T0 + 10 * DAY, 'a');
    expect(s.widthMs).toBeGreaterThanOrEqual((10 * DAY) / MAX_BUCKETS);
    expect(Object.fromEntries(s.totals())).toEqual({ a: 4, b: 1 });
    const axis = commonAxis([s], T0, T0 + 10 * DAY);
    expect(axis.starts.length).toBeLessThanOrEqual(MAX_BUCKETS + 1);
    expect(s.dense(axis, 'a').reduce((x, y) => x + y, 0)).toBe(4);
    expect(s.dense(axis, 'a')[0]).toBe(3);
    expect(s.dense(axis, 'a')[axis.starts.length - 1]).toBe(1);
  });

  it('puts two series of different widths on one axis, the wider width', () => {
    const fine = new CounterSeries();
    fine.add(T0, 'x');
    fine.add(T0 + 59 * MINUTE, 'x');
    const coarse = new CounterSeries();
    coarse.add(T0, 'y');
    coarse.add(T0 + 3 * DAY, 'y');
    const axis = commonAxis([fine, coarse], T0, T0 + 3 * DAY);
    // 3 days fit 400 buckets of 15 minutes
    expect(coarse.widthMs).toBe(15 * MINUTE);
    expect(axis.widthMs).toBe(15 * MINUTE);
    expect(fine.dense(axis, 'x').slice(0, 5)).toEqual([1, 0, 0, 1, 0]);
    expect(coarse.dense(axis, 'y')[axis.starts.length - 1]).toBe(1);
  });

  it('reads sizes from +1/-1 deltas, starting from what came before the axis', () => {
    const s = new CounterSeries();
    s.add(T0 - HOUR, 'seg', 1);
    s.add(T0 + 1, 'seg', 1);
    s.add(T0 + 2 * MINUTE, 'seg', -1);
    s.add(T0 + 3 * MINUTE, 'seg', 1);
    const axis = { widthMs: MINUTE, label: '1m', starts: [T0, T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE] };
    expect(s.before(T0, 'seg')).toBe(1);
    expect(cumulative(s.dense(axis, 'seg'), s.before(T0, 'seg'))).toEqual([2, 2, 1, 2]);
  });
});

describe('a variant collector', () => {
  it('counts commands by trigger and channel, decisions by reason, segments and dead letters', () => {
    const c = new VariantCollector('v', topics, decoder);
    c.accept(record(topics.commands, 'EngagementCommand', command('1', 't1', 'web', T0)));
    c.accept(record(topics.commands, 'EngagementCommand', command('2', 't1', 'email', T0 + MINUTE)));
    c.accept(record(topics.commands, 'EngagementCommand', command('3', 't2', 'web', T0 + 2 * MINUTE)));
    c.accept(record(topics.decisions, 'EngagementDecision', decision('4', 't1', 'capped', T0)));
    c.accept(record(topics.decisions, 'EngagementDecision', decision('5', 't1', 'capped', T0)));
    c.accept(record(topics.decisions, 'EngagementDecision', decision('6', 't2', 'held_out', T0)));
    c.accept(record(topics.membership, 'SegmentMembership', membership('s', 'enter', T0)));
    c.accept(record(topics.membership, 'SegmentMembership', membership('s', 'enter', T0)));
    c.accept(record(topics.membership, 'SegmentMembership', membership('s', 'exit', T0 + MINUTE)));
    c.accept({ topic: 'touchpoints.raw.dlq', partition: 0, key: null, value: Buffer.from('x'), headers: { 'lp.error.kind': 'not-avro-wire-format' }, timestamp: 0 });
    c.accept({ topic: 'replay-x-identifiers-changelog', partition: 0, key: null, value: Buffer.from('x'), headers: {}, timestamp: 0 });
    expect(Object.fromEntries(c.commands.totals())).toEqual({ 't1|web': 1, 't1|email': 1, 't2|web': 1 });
    expect(Object.fromEntries(c.decisions.totals())).toEqual({ 't1|capped': 2, 't2|held_out': 1 });
    expect(Object.fromEntries(c.segments.totals())).toEqual({ s: 1 });
    expect(Object.fromEntries(c.deadLetters)).toEqual({ 'not-avro-wire-format': 1 });
    expect(c.outputs.get('engagement.commands')).toBe(3);
    expect(c.isProductOutput('replay-x-identifiers-changelog')).toBe(false);
  });

  it('keeps the latest lift per trigger and partition, and subtracts what stood when the report window opened', () => {
    const c = new VariantCollector('v', topics, decoder, undefined, T0);
    const l = (p: number, at: number, ...counts: [number, number, number, number]) => c.accept(record(topics.lift, 'TriggerLift', lift('t', p, at, ...counts)));
    l(0, T0 - HOUR, 10, 1, 10, 1); // warm-up
    l(0, T0 + HOUR, 30, 6, 20, 2);
    l(0, T0 + MINUTE, 20, 3, 15, 1); // older than the one above: superseded
    l(1, T0 - MINUTE, 5, 0, 5, 0); // warm-up only: no change in the window
    l(2, T0 + HOUR, 10, 4, 0, 0);
    const [row] = liftRows(c);
    // partition 0: 30-10 / 6-1 / 20-10 / 2-1; partition 1: nothing new; partition 2: 10 / 4
    expect(row).toMatchObject({ triggerId: 't', treated: 30, treatedConverted: 9, control: 10, controlConverted: 1, partitions: 3 });
    expect(row!.estimate!.lift).toBeCloseTo(9 / 30 - 1 / 10, 12);
    // the plan at what the window saw: 30 % against 10 %, a quarter held out, 40 people in 2 days
    const [planned] = liftRows(c, 2 * 24 * HOUR);
    expect(planned!.plan).toEqual(planLift({ controlRate: 0.1, lift: 0.2, holdout: 0.25, exposuresPerDay: 20, exposuresSoFar: 40 }));
    expect(row!.plan!.days).toBeNull();
    // commands before the window are warm-up
    c.accept(record(topics.commands, 'EngagementCommand', command('1', 't1', 'web', T0 - 1)));
    expect(c.commands.totals().size).toBe(0);
  });

  it('says why there is no estimate when the window makes the counts inconsistent', () => {
    const c = new VariantCollector('v', topics, decoder, undefined, T0);
    c.accept(record(topics.lift, 'TriggerLift', lift('t', 0, T0 - 1, 5, 0, 5, 0)));
    c.accept(record(topics.lift, 'TriggerLift', lift('t', 0, T0 + 1, 5, 2, 5, 0)));
    const [row] = liftRows(c);
    expect(row!.estimate).toBeNull();
    expect(row!.note).toMatch(/more conversions than exposures/);
  });

  it('says so when neither group converted: an interval around zero that measures nothing', () => {
    const c = new VariantCollector('v', topics, decoder, undefined, T0);
    c.accept(record(topics.lift, 'TriggerLift', lift('silent', 0, T0 + 1, 900, 0, 100, 0)));
    c.accept(record(topics.lift, 'TriggerLift', lift('buys', 0, T0 + 1, 900, 90, 100, 8)));
    const [buys, silent] = liftRows(c);
    expect(silent!.estimate!.lift).toBe(0);
    expect(silent!.note).toMatch(/no conversion in either group/);
    expect(buys!.note).toBeUndefined();
  });
});

describe('the diff tracker', () => {
  const encode = (type: string, value: object) => record('x', type, value).value!;
  const sendC = (d: DiffTracker, side: 0 | 1, c: EngagementCommand) => d.command(side, c, encode('EngagementCommand', c));
  const sendD = (d: DiffTracker, side: 0 | 1, x: EngagementDecision) => d.decision(side, x, encode('EngagementDecision', x));

  it('matches firings by id, in either order, and classifies what differs', () => {
    const d = new DiffTracker('b', 'v', 1);
    sendC(d, 0, command('same', 't', 'web', T0));
    sendC(d, 1, command('same', 't', 'web', T0));
    sendD(d, 1, decision('lost', 't', 'cooldown', T0, 'p1'));
    sendC(d, 0, command('lost', 't', 'web', T0, 'p1'));
    sendC(d, 0, command('gone', 't', 'web', T0, 'p2'));
    sendC(d, 1, command('new', 'u', 'email', T0, 'p3'));
    sendC(d, 0, command('moved', 't', 'web', T0));
    sendC(d, 1, command('moved', 't', 'email', T0));
    sendD(d, 0, decision('why', 't', 'capped', T0));
    sendD(d, 1, decision('why', 't', 'quiet_hours', T0));
    sendD(d, 0, decision('alike', 't', 'capped', T0));
    sendD(d, 1, decision('alike', 't', 'capped', T0));
    const r = d.result(decoder);
    expect(r.totals).toEqual({ lost: 2, gained: 1, changed: 1, reasonChanged: 1, profilesLosing: 2, profilesGaining: 1 });
    expect(r.byTrigger).toEqual([
      { triggerId: 't', lost: 2, gained: 0, changed: 1, reasonChanged: 1, lostBecause: { cooldown: 1, not_fired: 1 } },
      { triggerId: 'u', lost: 0, gained: 1, changed: 0, reasonChanged: 0, lostBecause: {} },
    ]);
    // one example per trigger and kind, lost first
    expect(r.examples.map((e) => `${e.kind}:${e.id}`)).toEqual(['lost:lost', 'gained:new', 'changed:moved', 'reasonChanged:why']);
    expect(r.examples[0]!.variant).toMatchObject({ outcome: 'cooldown', trace });
    expect(r.examples[1]!.baseline).toBeNull();
    expect(d.inFlight).toBe(0);
  });
});

describe('rule sets', () => {
  it('completes a variant directory from the baseline and says which file came from where', () => {
    const dir = rulesDir({ 'triggers.yaml': (doc) => doc.setIn(['defaults', 'cooldown'], '2d') });
    const set = loadRuleSet('variant', dir, CONFIG_DIR);
    expect(set.files.find((f) => f.name === 'triggers.yaml')).toMatchObject({ origin: 'own', path: join(dir, 'triggers.yaml') });
    expect(set.files.find((f) => f.name === 'identity.yaml')).toMatchObject({ origin: 'baseline', path: join(CONFIG_DIR, 'identity.yaml') });
    expect(set.files.map((f) => f.name)).not.toContain('engine.yaml');
    expect(set.config.triggers.defaults.cooldown).toBe('2d');
  });

  it('names the variant file, path and line of a bad rule, not the directory it was assembled in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-replay-bad-'));
    writeFileSync(join(dir, 'triggers.yaml'), 'defaults:\n  grace: 5m\n  bogus: 1\ntriggers: []\n');
    let error: unknown;
    try {
      loadRuleSet('variant', dir, CONFIG_DIR);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).file).toBe(join(dir, 'triggers.yaml'));
    expect((error as Error).message).toMatch(/line \d/);
  });

  it('refuses a directory that does not exist or holds no rules', () => {
    expect(() => loadRuleSet('v', join(tmpdir(), 'no-such-dir-lp'))).toThrow(ConfigError);
    expect(() => loadRuleSet('v', mkdtempSync(join(tmpdir(), 'lp-empty-')))).toThrow('holds no rule files');
  });

  it('diffs rule files line by line, folding long unchanged stretches', () => {
    const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const b = ['a', 'b', 'c', 'd', 'E', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n');
    expect(diffLines(a, b, 1)).toEqual([
      { op: ' ', text: '…' },
      { op: ' ', text: 'd' },
      { op: '-', text: 'e' },
      { op: '+', text: 'E' },
      { op: ' ', text: 'f' },
      { op: ' ', text: '…' },
      { op: ' ', text: 'j' },
      { op: '+', text: 'k' },
    ]);
  });
});
