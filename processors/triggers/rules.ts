import type { Touchpoint } from '../model/touchpoint';
import { ConditionCompiler, compilePredicate, type ProfilePredicate } from '../segmentation/conditions';
import { DEFAULT_CONVERSION_VALUE, type Action, type ArbitrationMethod, type EventFilter, type Purpose, type TriggerRules, type TriggerSpec } from './config';
import { parseDuration } from '../../config/duration';

/** Everything but the event type (which the index already matched); null when nothing else is asked. */
export type Matcher = ((touchpoint: Touchpoint) => boolean) | null;

export interface ChannelOption {
  channel: string;
  action: Action;
  contentRef: string;
}

export type CompiledWhen =
  | { kind: 'event' }
  | { kind: 'sequence'; steps: number; within: number }
  | { kind: 'absence'; within: number }
  | { kind: 'segment'; segment: string }
  | { kind: 'score'; score: string; above: number | undefined; below: number | undefined };

/** A rule with every default applied and every duration in ms. */
export interface CompiledTrigger {
  id: string;
  description: string;
  when: CompiledWhen;
  who: ProfilePredicate | null;
  /** Lateness (behind stream time) up to which an event still counts for a sequence or absence. */
  grace: number;
  action: Action;
  contentRef: string;
  channels: ChannelOption[];
  priority: number;
  ttl: number;
  purpose: Purpose;
  maxDelay: number;
  holdoutPercent: number;
  cooldown: number;
  /** What one conversion is worth: expected value = uplift × value. */
  value: number;
  /** Scores and segments the rule reads: they go into the decision trace. */
  scoreRefs: string[];
  segmentRefs: string[];
  conversionEvents: string[] | null;
  attributionWindow: number | null;
}

/** What a touchpoint of one event type means to one trigger. */
export type EventHook =
  | { role: 'event'; trigger: CompiledTrigger; match: Matcher }
  | { role: 'steps'; trigger: CompiledTrigger; steps: { bit: number; match: Matcher }[] }
  | { role: 'start'; trigger: CompiledTrigger; match: Matcher }
  | { role: 'cancel'; trigger: CompiledTrigger; match: Matcher };

export interface CompiledRules {
  arbitration: ArbitrationMethod;
  triggers: CompiledTrigger[];
  byId: ReadonlyMap<string, CompiledTrigger>;
  /** Event type -> hooks, in rule order. Most touchpoints find nothing here and cost one map lookup. */
  byEventType: ReadonlyMap<string, EventHook[]>;
  bySegment: ReadonlyMap<string, CompiledTrigger[]>;
  byScore: ReadonlyMap<string, CompiledTrigger[]>;
  /** Sequence and absence triggers: re-evaluated when profiles merge. */
  patterns: CompiledTrigger[];
}

const compiled = new WeakMap<TriggerRules, CompiledRules>();

/** Compiles the rules once per config object (every task's processor shares the result). */
export function compileRules(rules: TriggerRules): CompiledRules {
  let result = compiled.get(rules);
  if (!result) {
    result = compile(rules);
    compiled.set(rules, result);
  }
  return result;
}

function compile(rules: TriggerRules): CompiledRules {
  const triggers: CompiledTrigger[] = [];
  const byEventType = new Map<string, EventHook[]>();
  const bySegment = new Map<string, CompiledTrigger[]>();
  const byScore = new Map<string, CompiledTrigger[]>();
  const hook = (eventTypes: string[], make: () => EventHook): void => {
    for (const type of eventTypes) {
      const list = byEventType.get(type) ?? [];
      list.push(make());
      byEventType.set(type, list);
    }
  };
  for (const spec of rules.triggers) {
    if (spec.enabled === false) continue;
    const trigger = compileTrigger(spec, rules);
    triggers.push(trigger);
    const w = spec.when;
    if (w.event) {
      const f = compileFilter(w.event);
      hook(f.eventTypes, () => ({ role: 'event', trigger, match: f.match }));
    } else if (w.sequence) {
      const flat = w.sequence.steps.flatMap((s) => Array.from({ length: s.times ?? 1 }, () => compileFilter(s)));
      const types = [...new Set(flat.flatMap((f) => f.eventTypes))];
      for (const type of types) {
        const steps = flat.flatMap((f, i) => (f.eventTypes.includes(type) ? [{ bit: 1 << i, match: f.match }] : []));
        hook([type], () => ({ role: 'steps', trigger, steps }));
      }
    } else if (w.absence) {
      const after = compileFilter(w.absence.after);
      const missing = compileFilter(w.absence.missing);
      hook(after.eventTypes, () => ({ role: 'start', trigger, match: after.match }));
      hook(missing.eventTypes, () => ({ role: 'cancel', trigger, match: missing.match }));
    } else if (w.segmentEntered) {
      bySegment.set(w.segmentEntered, [...(bySegment.get(w.segmentEntered) ?? []), trigger]);
    } else if (w.scoreCrosses) {
      byScore.set(w.scoreCrosses.score, [...(byScore.get(w.scoreCrosses.score) ?? []), trigger]);
    }
  }
  return {
    arbitration: rules.arbitration?.method ?? 'priority',
    triggers,
    byId: new Map(triggers.map((t) => [t.id, t])),
    byEventType,
    bySegment,
    byScore,
    patterns: triggers.filter((t) => t.when.kind === 'sequence' || t.when.kind === 'absence'),
  };
}

function compileTrigger(spec: TriggerSpec, rules: TriggerRules): CompiledTrigger {
  const d = rules.defaults;
  const e = spec.engage;
  const w = spec.when;
  // triggers.yaml's compile checked the names `who` uses: a failure here is a rule object built past it
  const compiler = new ConditionCompiler(rules.vocabulary, (path, problem) => {
    throw new Error(`trigger ${spec.id}: ${path}: ${problem}`);
  });
  const scoreRefs = compiler.scoreRefs;
  const segmentRefs = compiler.segmentRefs;
  let when: CompiledWhen;
  if (w.event) when = { kind: 'event' };
  else if (w.sequence) {
    when = { kind: 'sequence', steps: w.sequence.steps.reduce((n, s) => n + (s.times ?? 1), 0), within: parseDuration(w.sequence.within) };
  } else if (w.absence) when = { kind: 'absence', within: parseDuration(w.absence.within) };
  else if (w.segmentEntered) {
    when = { kind: 'segment', segment: w.segmentEntered };
    segmentRefs.add(w.segmentEntered);
  } else {
    const s = w.scoreCrosses!;
    when = { kind: 'score', score: s.score, above: s.above, below: s.below };
    scoreRefs.add(s.score);
  }
  const who = spec.who ? compilePredicate(compiler, spec.who, '/who') : null;
  return {
    id: spec.id,
    description: spec.description,
    when,
    who,
    grace: parseDuration(spec.grace ?? d.grace),
    action: e.action,
    contentRef: e.contentRef,
    channels: e.channels.map((c) =>
      typeof c === 'string'
        ? { channel: c, action: e.action, contentRef: e.contentRef }
        : { channel: c.channel, action: c.action ?? e.action, contentRef: c.contentRef ?? e.contentRef },
    ),
    priority: e.priority ?? d.priority,
    ttl: parseDuration(e.ttl ?? d.ttl),
    purpose: e.purpose ?? d.purpose,
    maxDelay: parseDuration(e.maxDelay ?? d.maxDelay),
    holdoutPercent: e.holdoutPercent ?? d.holdoutPercent,
    cooldown: parseDuration(e.cooldown ?? d.cooldown),
    value: e.value ?? d.value ?? DEFAULT_CONVERSION_VALUE,
    scoreRefs: [...scoreRefs],
    segmentRefs: [...segmentRefs],
    conversionEvents: spec.measure?.conversionEvents ?? null,
    attributionWindow: spec.measure?.attributionWindow ? parseDuration(spec.measure.attributionWindow) : null,
  };
}

const asList = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** An event filter as its event types (for the index) and one predicate over the rest. */
export function compileFilter(f: EventFilter): { eventTypes: string[]; match: Matcher } {
  const tests: ((t: Touchpoint) => boolean)[] = [];
  const channels = asList(f.channel);
  if (channels) tests.push((t) => channels.includes(t.channel));
  const categories = asList(f.category);
  if (categories) tests.push((t) => t.page !== null && t.page.category !== null && categories.includes(t.page.category));
  const products = asList(f.product);
  if (products) tests.push((t) => t.page !== null && t.page.product !== null && products.includes(t.page.product));
  if (f.path !== undefined) {
    const path = f.path;
    if (path.endsWith('*')) {
      const prefix = path.slice(0, -1);
      tests.push((t) => t.page !== null && t.page.path !== null && t.page.path.startsWith(prefix));
    } else tests.push((t) => t.page !== null && t.page.path === path);
  }
  if (f.authenticated !== undefined) {
    const authenticated = f.authenticated;
    tests.push((t) => t.authenticated === authenticated);
  }
  if (f.attributes) {
    const wanted = Object.entries(f.attributes);
    tests.push((t) => wanted.every(([k, v]) => t.attributes[k] === v));
  }
  if (f.balanceBelow) {
    const { minorUnits, currency } = f.balanceBelow;
    tests.push((t) => t.balance !== null && (currency === undefined || t.balance.currency === currency) && t.balance.minorUnits < minorUnits);
  }
  if (f.amountAtLeast) {
    const { minorUnits, currency } = f.amountAtLeast;
    tests.push((t) => t.amount !== null && (currency === undefined || t.amount.currency === currency) && t.amount.minorUnits >= minorUnits);
  }
  const match: Matcher = tests.length === 0 ? null : tests.length === 1 ? tests[0]! : (t) => tests.every((test) => test(t));
  return { eventTypes: asList(f.eventType)!, match };
}
