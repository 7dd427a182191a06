import { combineLift } from '../processors/outcomes/merge';
import { liftEstimate, tallyOf, TALLY_FIELDS, type LiftEstimate, type LiftTally, type TriggerLift } from '../processors/outcomes/lift';
import { planLift, type LiftPlan } from '../processors/outcomes/plan';
import type { VariantCollector } from './collector';
import type { DiffResult } from './diff';
import { diffLines, type LineDiff, type RuleSet } from './rules';
import { commonAxis, cumulative, type TimeAxis } from './series';
import type { InputDescription } from './sources';

/**
 * The report of a replay: plain JSON (numbers, strings, arrays), the same
 * model the HTML page is rendered from, so a notebook reads exactly what
 * the page shows. Every series is dense on the shared `axis` (bucket start
 * times, ms since the epoch, UTC): values[i] belongs to
 * [axis.starts[i], axis.starts[i] + axis.bucketMs).
 */
export const REPORT_FORMAT = 'listening-post-replay-report/1';

export interface ReplayReport {
  format: typeof REPORT_FORMAT;
  /** false when the replay was stopped early (Ctrl-C): everything covers the input up to `input.lastEventAt`. */
  complete: boolean;
  input: InputDescription & {
    records: number;
    /** Records whose bytes did not decode (they went to the dead-letter topic, as live). */
    undecodable: number;
    partitions: number;
    firstEventAt: string | null;
    lastEventAt: string | null;
  };
  settings: {
    /** Most input records per driver run. */
    batch: number;
    /** Most record-timestamp time per driver run (0: no limit); see replay/README.md. */
    tickMs: number;
    /** Stream time was moved this far past the last event at the end (timers due by then fired). */
    settleMs: number;
    state: 'rocksdb' | 'memory';
    /** Outputs before this time were warm-up: not counted. */
    reportFrom: string | null;
  };
  axis: { bucket: string; bucketMs: number; starts: number[] };
  variants: VariantReport[];
  /** The rule files of each variant, and a line diff where the variant's differs from the baseline's. */
  rules: RuleFileComparison[];
  /** Baseline versus variant; null with one variant. */
  diff: DiffResult | null;
  /** The only wall-clock part of the report. */
  run: { startedAt: string; finishedAt: string; seconds: number; touchpointsPerSecond: number; node: string };
}

export interface VariantReport {
  name: string;
  rulesDir: string;
  /** Where its outputs were written (--output-prefix), or null (in memory only). */
  topicPrefix: string | null;
  totals: { touchpoints: number; commands: number; decisions: number; suppressed: number; heldOut: number; segmentChanges: number; deadLetters: number };
  /** Records per output topic. */
  outputs: Record<string, number>;
  deadLetters: Record<string, number>;
  /** Members at the end of each bucket (entries minus exits, warm-up included). */
  segments: { segment: string; final: number; series: number[] }[];
  commands: {
    byChannel: Record<string, number>;
    byTrigger: { triggerId: string; total: number; byChannel: Record<string, number>; series: Record<string, number[]> }[];
  };
  /** engagement.decisions by outcome; `held_out` is the control group, not a suppression. */
  decisions: {
    byReason: Record<string, number>;
    byTrigger: { triggerId: string; total: number; byReason: Record<string, number> }[];
    series: Record<string, number[]>;
  };
  lift: LiftRow[];
}

/** Per person (first exposures), with repeat exposures apart; the estimate is of the first exposures. */
export interface LiftRow extends LiftTally {
  triggerId: string;
  /** Task partitions that reported counts. */
  partitions: number;
  asOf: string;
  estimate: LiftEstimate | null;
  /**
   * People (first exposures) and days still needed for ±2 points (planLift) at the observed rates,
   * holdout share and people per day of the report window; null without an estimate, or when the
   * rates are all 0 or 1.
   */
  plan: LiftPlan | null;
  note?: string;
}

export interface RuleFileComparison {
  name: string;
  /** Per variant, in report order. */
  variants: { name: string; origin: 'own' | 'baseline' | 'missing'; path: string | null; sha256: string | null }[];
  /** Baseline -> variant line diff, when the texts differ. */
  diff: LineDiff[] | null;
}

export interface ReportInput {
  input: InputDescription;
  records: number;
  undecodable: number;
  partitions: number;
  firstEventAt: number | null;
  lastEventAt: number | null;
  complete: boolean;
  settings: { batch: number; tickMs: number; settleMs: number; state: 'rocksdb' | 'memory'; reportFrom: number | null };
  variants: { collector: VariantCollector; rules: RuleSet; topicPrefix: string | null }[];
  diff: DiffResult | null;
  startedAt: number;
  finishedAt: number;
}

export function buildReport(r: ReportInput): ReplayReport {
  const collectors = r.variants.map((v) => v.collector);
  const series = collectors.flatMap((c) => [c.commands, c.decisions, c.segments]);
  const known = (times: (number | null | undefined)[]): number[] => times.filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
  const from = r.settings.reportFrom ?? Math.min(...known([r.firstEventAt, ...series.map((s) => s.span?.first)]));
  const to = Math.max(from, ...known([r.lastEventAt, ...series.map((s) => s.span?.last)]));
  const axis = Number.isFinite(from) ? commonAxis(series, from, to) : commonAxis(series, 1, 0);
  const seconds = Math.max((r.finishedAt - r.startedAt) / 1000, 0.001);
  const windowMs = Number.isFinite(from) ? to - from : 0;
  return {
    format: REPORT_FORMAT,
    complete: r.complete,
    input: {
      ...r.input,
      records: r.records,
      undecodable: r.undecodable,
      partitions: r.partitions,
      firstEventAt: iso(r.firstEventAt),
      lastEventAt: iso(r.lastEventAt),
    },
    settings: { ...r.settings, reportFrom: iso(r.settings.reportFrom) },
    axis: { bucket: axis.label, bucketMs: axis.widthMs, starts: axis.starts },
    variants: r.variants.map((v) => variantReport(v.collector, v.rules, v.topicPrefix, axis, windowMs)),
    rules: compareRules(r.variants.map((v) => v.rules)),
    diff: r.diff,
    run: {
      startedAt: new Date(r.startedAt).toISOString(),
      finishedAt: new Date(r.finishedAt).toISOString(),
      seconds: Math.round(seconds * 1000) / 1000,
      touchpointsPerSecond: Math.round(r.records / seconds),
      node: process.version,
    },
  };
}

function iso(t: number | null): string | null {
  return t === null || !Number.isFinite(t) ? null : new Date(t).toISOString();
}

function variantReport(collector: VariantCollector, rules: RuleSet, topicPrefix: string | null, axis: TimeAxis, windowMs: number): VariantReport {
  const commandTotals = collector.commands.totals();
  const decisionTotals = collector.decisions.totals();
  const axisStart = axis.starts[0] ?? 0;
  const segmentTotals = collector.segments.totals();
  const segments = collector.segments.keys().map((segment) => ({
    segment,
    final: segmentTotals.get(segment) ?? 0,
    series: cumulative(collector.segments.dense(axis, segment), collector.segments.before(axisStart, segment)),
  }));

  const triggers = new Map<string, { triggerId: string; total: number; byChannel: Record<string, number>; series: Record<string, number[]> }>();
  const byChannel: Record<string, number> = {};
  for (const key of collector.commands.keys()) {
    const [triggerId, channel] = split(key);
    let t = triggers.get(triggerId);
    if (!t) triggers.set(triggerId, (t = { triggerId, total: 0, byChannel: {}, series: {} }));
    const n = commandTotals.get(key) ?? 0;
    t.total += n;
    t.byChannel[channel] = n;
    t.series[channel] = collector.commands.dense(axis, key);
    byChannel[channel] = (byChannel[channel] ?? 0) + n;
  }

  const reasons: Record<string, number> = {};
  const reasonSeries: Record<string, number[]> = {};
  const decisionTriggers = new Map<string, { triggerId: string; total: number; byReason: Record<string, number> }>();
  for (const key of collector.decisions.keys()) {
    const [triggerId, reason] = split(key);
    const n = decisionTotals.get(key) ?? 0;
    reasons[reason] = (reasons[reason] ?? 0) + n;
    const dense = collector.decisions.dense(axis, key);
    const sum = reasonSeries[reason];
    reasonSeries[reason] = sum ? sum.map((v, i) => v + dense[i]!) : dense;
    let t = decisionTriggers.get(triggerId);
    if (!t) decisionTriggers.set(triggerId, (t = { triggerId, total: 0, byReason: {} }));
    t.total += n;
    t.byReason[reason] = n;
  }
  const decisions = [...decisionTotals.values()].reduce((a, b) => a + b, 0);
  const heldOut = reasons.held_out ?? 0;
  const outputs = Object.fromEntries([...collector.outputs].sort(([a], [b]) => a.localeCompare(b)));
  return {
    name: collector.name,
    rulesDir: rules.dir,
    topicPrefix,
    totals: {
      touchpoints: collector.touchpoints,
      commands: [...commandTotals.values()].reduce((a, b) => a + b, 0),
      decisions,
      suppressed: decisions - heldOut,
      heldOut,
      segmentChanges: collector.outputs.get('segments.membership') ?? 0,
      deadLetters: collector.outputs.get('dead letters') ?? 0,
    },
    outputs,
    deadLetters: Object.fromEntries([...collector.deadLetters].sort(([a], [b]) => a.localeCompare(b))),
    segments,
    commands: { byChannel: sortKeys(byChannel), byTrigger: [...triggers.values()].sort((a, b) => a.triggerId.localeCompare(b.triggerId)) },
    decisions: {
      byReason: sortKeys(reasons),
      byTrigger: [...decisionTriggers.values()].sort((a, b) => a.triggerId.localeCompare(b.triggerId)),
      series: sortKeys(reasonSeries),
    },
    lift: liftRows(collector, windowMs),
  };
}

/** Lift per trigger over the report window (`windowMs` of event time): the latest counts of every partition, minus those at the window's start. */
export function liftRows(collector: VariantCollector, windowMs = 0): LiftRow[] {
  const keys = new Set([...collector.lift.keys(), ...collector.liftAtStart.keys()]);
  const windowed: TriggerLift[] = [];
  for (const key of keys) {
    const end = collector.lift.get(key) ?? collector.liftAtStart.get(key)!;
    const start = collector.liftAtStart.get(key);
    const counts = tallyOf(end);
    if (start) for (const field of TALLY_FIELDS) counts[field] -= start[field];
    windowed.push({ triggerId: end.triggerId, partition: end.partition, asOf: end.asOf, ...counts });
  }
  return [...combineLift(windowed)]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([triggerId, t]) => {
      let estimate: LiftEstimate | null = null;
      let note: string | undefined;
      try {
        estimate = liftEstimate({ treated: t.treated, treatedConverted: t.treatedConverted, control: t.control, controlConverted: t.controlConverted });
      } catch (error) {
        note = `no estimate: ${(error as Error).message} (exposures from before the report window converted inside it)`;
      }
      // A zero against a zero has an interval, and a tight one: say what it is more likely to mean.
      if (estimate && t.treated > 0 && t.control > 0 && t.treatedConverted + t.controlConverted === 0) {
        note = 'no conversion in either group: the input holds none of the conversion events of the rule in its windows (in a backtest nobody answers the commands, so only what people do on their own converts)';
      }
      const plan = estimate ? planFromWindow(estimate, t.treated + t.control, t.control, windowMs) : null;
      return { triggerId, ...tallyOf(t), partitions: t.partitions, asOf: new Date(t.asOf).toISOString(), estimate, plan, ...(note ? { note } : {}) };
    });
}

const DAY_MS = 86_400_000;

/** The planner at what the window observed: its rates, holdout share and people per day. */
function planFromWindow(estimate: LiftEstimate, people: number, control: number, windowMs: number): LiftPlan | null {
  if (estimate.controlRate === null || estimate.lift === null) return null;
  const exposuresPerDay = windowMs > 0 && people > 0 ? (people * DAY_MS) / windowMs : undefined;
  try {
    return planLift({ controlRate: estimate.controlRate, lift: estimate.lift, holdout: control / people, exposuresPerDay, exposuresSoFar: people });
  } catch (error) {
    // Rates of 0 or 1 in both groups: no variance to plan for.
    if (error instanceof RangeError) return null;
    throw error;
  }
}

function compareRules(sets: RuleSet[]): RuleFileComparison[] {
  const names = [...new Set(sets.flatMap((s) => s.files.map((f) => f.name)))].sort();
  return names.map((name) => {
    const files = sets.map((s) => s.files.find((f) => f.name === name));
    const [base, variant] = files;
    const differs = sets.length > 1 && base?.sha256 !== variant?.sha256;
    return {
      name,
      variants: sets.map((s, i) => ({
        name: s.name,
        origin: files[i]?.origin ?? 'missing',
        path: files[i]?.path ?? null,
        sha256: files[i]?.sha256 ?? null,
      })),
      diff: differs ? diffLines(base?.text ?? '', variant?.text ?? '') : null,
    };
  });
}

function split(key: string): [string, string] {
  const bar = key.indexOf('|');
  return [key.slice(0, bar), key.slice(bar + 1)];
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
