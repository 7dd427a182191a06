import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alwaysValidInterval, newcombeInterval } from '../../../processors/outcomes/lift';
import { planLift } from '../../../processors/outcomes/plan';
import { ArraySource, loadRuleSet, runReplay, type ReplayOptions, type RuleSet } from '../../../replay';
import { DLQ_HEADERS, type OutputRecord } from '../../../runtime/records';
import { CONFIG_DIR } from '../../support/product';
import { bankDay, testRules, variantRules } from './scenario';

/**
 * The replay on the in-process driver with the product topology and real
 * rule files (config/ with the scenario's edits): the report's numbers
 * against a day counted by hand, the baseline-versus-variant diff, byte
 * for byte determinism, and a stop half way.
 */
jest.setTimeout(60_000);

const day = bankDay();
const testDir = testRules();
const variantDir = variantRules(testDir);
const baseline = (): RuleSet => loadRuleSet('baseline', testDir, CONFIG_DIR);
const variant = (): RuleSet => loadRuleSet('variant', variantDir, testDir);
const stateDir = () => mkdtempSync(join(tmpdir(), 'lp-replay-state-'));

async function replay(options: Partial<ReplayOptions> & { variants: ReplayOptions['variants'] }) {
  return runReplay({ source: new ArraySource(day.touchpoints, 4), stateDir: stateDir(), state: 'memory', settleMs: 120_000, ...options });
}

describe('the report of a replay', () => {
  it('counts commands, suppressions, segments and lift as a person counts them', async () => {
    const { report, complete } = await replay({ variants: [{ name: 'baseline', rules: baseline() }] });
    expect(complete).toBe(true);
    expect(report.input).toMatchObject({ records: day.touchpoints.length, undecodable: 0, partitions: 4 });
    const [b] = report.variants;
    // 4 of the 8 low-balance customers are treated, the others held out; 2 branch customers cannot be reached
    expect(b!.commands.byTrigger).toEqual([expect.objectContaining({ triggerId: 'low_balance_after_bill', total: 4, byChannel: { app: 4 } })]);
    expect(b!.decisions.byReason).toEqual({ held_out: 4, no_consent: 4, no_reachable_channel: 2 });
    expect(b!.decisions.byTrigger).toEqual([
      { triggerId: 'anonymous_search_help', total: 2, byReason: { no_consent: 2 } },
      { triggerId: 'low_balance_after_bill', total: 6, byReason: { held_out: 4, no_reachable_channel: 2 } },
      { triggerId: 'mortgage_shopper_banner', total: 2, byReason: { no_consent: 2 } },
    ]);
    expect(b!.totals).toMatchObject({ touchpoints: 30, commands: 4, decisions: 10, suppressed: 6, heldOut: 4, deadLetters: 0 });
    expect(b!.segments.map((s) => [s.segment, s.final])).toEqual([['mortgage_shopper', 2]]);
    // the series is the running size: 0 before the readers' visits, 2 at the end
    const sizes = b!.segments[0]!.series;
    expect(sizes[0]).toBe(0);
    expect(sizes[sizes.length - 1]).toBe(2);
    expect(sizes.length).toBe(report.axis.starts.length);

    // commands over time add up to the totals
    const series = b!.commands.byTrigger[0]!.series.app!;
    expect(series.reduce((a, n) => a + n, 0)).toBe(4);

    // lift: treated 2 of 4 converted, control 1 of 4: +25 pp, with the report's interval (far too few to act on)
    const [lift] = b!.lift;
    expect(lift).toMatchObject({ triggerId: 'low_balance_after_bill', treated: 4, treatedConverted: 2, control: 4, controlConverted: 1 });
    expect(lift!.estimate!.treatedRate).toBe(0.5);
    expect(lift!.estimate!.controlRate).toBe(0.25);
    expect(lift!.estimate!.lift).toBeCloseTo(0.25, 12);
    expect(lift!.estimate!.ci95).toEqual(newcombeInterval(2, 4, 1, 4));
    expect(lift!.estimate!.enoughData).toBe(false);
    expect(lift!.estimate!.significant).toBe(false);
    // the always-valid interval holds the fixed one; for ±2 points at these rates thousands more people are needed
    expect(lift!.estimate!.ci95AlwaysValid).toEqual(alwaysValidInterval(2, 4, 1, 4));
    const plan = planLift({ controlRate: 0.25, lift: 0.25, holdout: 0.5, exposuresSoFar: 8 });
    expect(lift!.plan).toMatchObject({ exposures: plan.exposures, remaining: plan.exposures - 8, alwaysValidRemaining: plan.alwaysValidExposures - 8 });
    // at the pace of the day: 8 people over the input's event time
    const windowDays = (Date.parse(report.input.lastEventAt!) - Date.parse(report.input.firstEventAt!)) / 86_400_000;
    expect(lift!.plan!.days).toBe(Math.ceil((plan.exposures - 8) / (8 / windowDays)));

    expect(report.diff).toBeNull();
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('shows the commands a variant loses and gains, with the traces of both sides', async () => {
    const { report } = await replay({ variants: [{ name: 'baseline', rules: baseline() }, { name: 'variant', rules: variant() }] });
    const diff = report.diff!;
    expect(diff.totals).toEqual({ lost: 4, gained: 2, changed: 0, reasonChanged: 6, profilesLosing: 4, profilesGaining: 2 });
    expect(diff.byTrigger).toEqual([
      { triggerId: 'anonymous_search_help', lost: 0, gained: 2, changed: 0, reasonChanged: 0, lostBecause: {} },
      { triggerId: 'low_balance_after_bill', lost: 4, gained: 0, changed: 0, reasonChanged: 6, lostBecause: { not_fired: 4 } },
    ]);
    // the profiles that lost a command are exactly the treated customers
    expect(diff.profiles.filter((p) => p.lost > 0).map((p) => p.profileId).sort()).toEqual(day.treated.map((p) => p.profileId).sort());

    const lost = diff.examples.filter((e) => e.kind === 'lost');
    expect(lost).toHaveLength(3);
    for (const e of lost) {
      expect(e.triggerId).toBe('low_balance_after_bill');
      expect(e.baseline).toMatchObject({ outcome: 'sent', channel: 'app', action: 'account_alert' });
      expect(e.baseline!.trace.checks.map((c) => c.check)).toContain('holdout');
      expect(e.variant).toBeNull();
    }
    const gained = diff.examples.filter((e) => e.kind === 'gained');
    expect(gained).toHaveLength(2);
    for (const e of gained) {
      expect(e.baseline).toMatchObject({ outcome: 'no_consent' });
      expect(e.variant).toMatchObject({ outcome: 'sent', channel: 'web', action: 'chat_prompt' });
    }
    // both variants' reports stand on their own too
    expect(report.variants.map((v) => v.totals.commands)).toEqual([4, 2]);
    expect(report.rules.find((f) => f.name === 'triggers.yaml')!.diff!.some((l) => l.op === '+' && l.text.includes('enabled: false'))).toBe(true);
    expect(report.rules.find((f) => f.name === 'identity.yaml')!.diff).toBeNull();
  });

  it('finds no difference between a rule set and itself', async () => {
    const { report } = await replay({ variants: [{ name: 'baseline', rules: baseline() }, { name: 'same', rules: loadRuleSet('same', testDir) }] });
    expect(report.diff!.totals).toEqual({ lost: 0, gained: 0, changed: 0, reasonChanged: 0, profilesLosing: 0, profilesGaining: 0 });
    expect(report.diff!.examples).toEqual([]);
    expect(report.variants[1]!.totals).toEqual(report.variants[0]!.totals);
  });
});

describe('a report window after a warm-up', () => {
  it('counts only outputs from the window, carries segment sizes over, and says when lift cannot be split', async () => {
    const firstPurchase = day.touchpoints.find((t) => t.eventType === 'purchase')!.occurredAt;
    const { report } = await replay({ variants: [{ name: 'baseline', rules: baseline() }], reportFrom: firstPurchase });
    const [b] = report.variants;
    expect(report.settings.reportFrom).toBe(new Date(firstPurchase).toISOString());
    expect(report.axis.starts[0]).toBeLessThanOrEqual(firstPurchase);
    expect(report.axis.starts[0]! + report.axis.bucketMs).toBeGreaterThan(firstPurchase);
    // every command and decision came before the purchases
    expect(b!.totals).toMatchObject({ commands: 0, decisions: 0 });
    // the segment was entered during the warm-up: its size carries into the window
    expect(b!.segments[0]!.series.every((n) => n === 2)).toBe(true);
    // exposures before the window, conversions inside it: no honest estimate for the window
    expect(b!.lift[0]).toMatchObject({ treated: 0, treatedConverted: 2, control: 0, controlConverted: 1, estimate: null });
    expect(b!.lift[0]!.note).toMatch(/exposures from before the report window converted inside it/);
  });
});

describe('determinism', () => {
  /** Every product output of a replay, in order, as bytes, except the DLQ's wall-clock header. */
  async function outputs(state: 'memory' | 'rocksdb'): Promise<Map<string, OutputRecord[]>> {
    const byVariant = new Map<string, OutputRecord[]>();
    await replay({
      state,
      variants: [{ name: 'baseline', rules: baseline() }, { name: 'variant', rules: variant() }],
      onOutput: (name, record) => {
        const headers = { ...record.headers };
        delete headers[DLQ_HEADERS.failedAt];
        byVariant.set(name, [...(byVariant.get(name) ?? []), { ...record, headers }]);
      },
    });
    return byVariant;
  }

  it('gives byte-identical commands (and every other output) for the same input and rules', async () => {
    const first = await outputs('rocksdb');
    const second = await outputs('rocksdb');
    const inMemory = await outputs('memory');
    const commands = (o: Map<string, OutputRecord[]>, v: string) => o.get(v)!.filter((r) => r.topic === 'engagement.commands');
    expect(commands(first, 'baseline')).toHaveLength(4);
    expect(commands(first, 'variant')).toHaveLength(2);
    for (const v of ['baseline', 'variant']) {
      expect(Buffer.concat(commands(second, v).map((r) => r.value!)).equals(Buffer.concat(commands(first, v).map((r) => r.value!)))).toBe(true);
      expect(second.get(v)).toEqual(first.get(v));
      expect(inMemory.get(v)).toEqual(first.get(v));
    }
  });

  it('writes the same report, but for the wall-clock run section', async () => {
    const variants = () => [{ name: 'baseline', rules: baseline() }, { name: 'variant', rules: variant() }];
    const a = (await replay({ variants: variants() })).report;
    const b = (await replay({ variants: variants(), state: 'rocksdb' })).report;
    expect({ ...a, run: null, settings: { ...a.settings, state: null } }).toEqual({ ...b, run: null, settings: { ...b.settings, state: null } });
  });
});

describe('isolation', () => {
  it('refuses a state directory that holds anything, and leaves it alone', async () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'precious'), 'keep me');
    await expect(replay({ variants: [{ name: 'baseline', rules: baseline() }], stateDir: dir })).rejects.toThrow(`the replay's state directory ${dir} is not empty`);
    expect(readFileSync(join(dir, 'precious'), 'utf8')).toBe('keep me');
  });

  it('removes its own state directory afterwards, unless told to keep it', async () => {
    const removed = join(stateDir(), 'state');
    await replay({ variants: [{ name: 'baseline', rules: baseline() }], stateDir: removed, state: 'rocksdb' });
    expect(existsSync(removed)).toBe(false);
    const kept = join(stateDir(), 'state');
    await replay({ variants: [{ name: 'baseline', rules: baseline() }], stateDir: kept, state: 'rocksdb', keepState: true });
    expect(readdirSync(join(kept, 'baseline')).sort()).toEqual(['0_0', '0_1', '0_2', '0_3', '1_0', '2_0', '2_1', '2_2', '2_3', 'global-identity-graph']);
  });
});

describe('stopping', () => {
  it('is complete when the stop comes after the whole input was read', async () => {
    const { report, complete } = await replay({ variants: [{ name: 'baseline', rules: baseline() }], stopped: () => true });
    // the source hands over up to 1000 records at a time: the stop is seen after the first (and only) chunk
    expect(complete).toBe(true);
    expect(report.complete).toBe(true);
    expect(report.input.records).toBe(day.touchpoints.length);
  });

  it('stops inside a long input after the chunk in hand', async () => {
    const long = Array.from({ length: 5 }, () => day.touchpoints).flat().map((t, i) => ({ ...t, eventId: `${t.eventId}-${i}`, occurredAt: t.occurredAt + Math.floor(i / 30) * 86_400_000 }));
    const many = Array.from({ length: 100 }, (_, k) => long.map((t) => ({ ...t, eventId: `${t.eventId}-${k}`, occurredAt: t.occurredAt + k * 7 * 86_400_000 }))).flat();
    let seen = 0;
    const { report, complete } = await runReplay({
      source: new ArraySource(many, 4),
      variants: [{ name: 'baseline', rules: baseline() }],
      stateDir: stateDir(),
      state: 'memory',
      tickMs: 0,
      stopped: () => seen >= 2000,
      onProgress: (p) => (seen = p.records),
    });
    expect(complete).toBe(false);
    expect(report.complete).toBe(false);
    expect(report.input.records).toBe(2000);
    expect(report.input.lastEventAt).not.toBeNull();
  });
});
