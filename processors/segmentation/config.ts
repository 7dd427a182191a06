import { loadConfig, parseConfig } from '../../config/load';
import { durationAt } from '../../config/duration';
import { compileEventFilter, eventFilterSchema, type EventFilterConfig } from '../profile/event-filter';
import type { ScoringModel } from '../scoring/model';
import {
  channelLeaf,
  consentLeaf,
  counterLeaf,
  knownLeaf,
  lastSeenLeaf,
  scoreLeaf,
  traitLeaf,
  type CompiledCounter,
  type CompiledSegment,
  type Leaf,
  type SegmentRules,
} from './rules';

/** config/segments.yaml as written. */
export interface SegmentsConfig {
  limits?: { eventsPerCounter?: number };
  counters: Record<string, CounterConfig>;
  segments: Record<string, SegmentConfig>;
}

/** Events matching `match`, counted (or their amounts summed) over a sliding window of event time. */
export interface CounterConfig {
  description?: string;
  match: EventFilterConfig;
  /** Default window of conditions on this counter, e.g. 7d. */
  window: string;
  /** count (default) or sum of amount.minorUnits. */
  aggregate?: 'count' | 'sum';
}

export interface SegmentConfig {
  description?: string;
  when: Condition;
}

/** A boolean condition: a combination, or one leaf (see README.md for each). */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { counter: string; atLeast?: number; atMost?: number; within?: string }
  | { noEvent: string; within?: string }
  | { score: string; atLeast?: number; atMost?: number }
  | { known: boolean }
  | { channel: string; within?: string }
  | { lastSeenWithin: string }
  | { consent: string }
  | { trait: string; equals?: string; in?: string[] };

const DEFAULT_EVENTS_PER_COUNTER = 50;
const NAME = /^[a-z][a-z0-9_]*$/;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['counters', 'segments'],
  properties: {
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: { eventsPerCounter: { type: 'integer', minimum: 1, maximum: 1000 } },
    },
    counters: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['match', 'window'],
        properties: {
          description: { type: 'string' },
          match: eventFilterSchema,
          window: { type: 'string' },
          aggregate: { enum: ['count', 'sum'] },
        },
      },
    },
    segments: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['when'],
        properties: { description: { type: 'string' }, when: { type: 'object' } },
      },
    },
  },
} as const;

/** The fields each kind of condition may have; the first one names the kind. */
const KINDS: Record<string, string[]> = {
  all: ['all'],
  any: ['any'],
  not: ['not'],
  counter: ['counter', 'atLeast', 'atMost', 'within'],
  noEvent: ['noEvent', 'within'],
  score: ['score', 'atLeast', 'atMost'],
  known: ['known'],
  channel: ['channel', 'within'],
  lastSeenWithin: ['lastSeenWithin'],
  consent: ['consent'],
  trait: ['trait', 'equals', 'in'],
};

type Fail = (path: string, problem: string) => never;

/** Compiles while it checks, so every problem is reported with the path of the condition at fault. */
class Compiler {
  readonly leaves: Leaf[] = [];
  readonly counters = new Map<string, CompiledCounter>();
  private readonly leafIndex = new Map<string, number>();
  private readonly windows = new Map<string, number>();

  constructor(
    private readonly config: SegmentsConfig,
    private readonly scoring: ScoringModel,
    private readonly fail: Fail,
  ) {
    for (const [name, counter] of Object.entries(config.counters)) {
      if (!NAME.test(name) || name in Object.prototype) fail(`/counters/${name}`, `'${name}' is not a valid counter name: use lower case letters, digits and _, and not a word JavaScript objects reserve (constructor)`);
      const window = durationAt(counter.window, `/counters/${name}/window`, fail);
      this.windows.set(name, window);
      this.counters.set(name, { name, match: compileEventFilter(counter.match), sum: counter.aggregate === 'sum', retention: window });
    }
  }

  /** The segment, and its condition as a JavaScript expression over `h` (which leaves hold). */
  segment(name: string, index: number, config: SegmentConfig): [CompiledSegment, string] {
    if (!NAME.test(name) || name in Object.prototype) this.fail(`/segments/${name}`, `'${name}' is not a valid segment name: use lower case letters, digits and _, and not a word JavaScript objects reserve (constructor)`);
    const used = new Set<number>();
    const expression = this.condition(config.when, `/segments/${name}/when`, used);
    return [{ name, index, leaves: [...used].sort((a, b) => a - b) }, expression];
  }

  private condition(value: unknown, path: string, used: Set<number>): string {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(path, `a condition must be a mapping with one of: ${Object.keys(KINDS).join(', ')}`);
    }
    const fields = value as Record<string, unknown>;
    const kinds = Object.keys(fields).filter((k) => k in KINDS);
    if (kinds.length === 0) this.fail(path, `a condition needs one of: ${Object.keys(KINDS).join(', ')} (found: ${Object.keys(fields).join(', ') || 'nothing'})`);
    if (kinds.length > 1) this.fail(path, `'${kinds[0]}' and '${kinds[1]}' in one condition: put them in a list under all or any`);
    const kind = kinds[0]!;
    const extra = Object.keys(fields).find((k) => !KINDS[kind]!.includes(k));
    if (extra) this.fail(`${path}/${extra}`, `unknown field '${extra}' for a ${kind} condition (allowed: ${KINDS[kind]!.join(', ')})`);
    switch (kind) {
      case 'all':
      case 'any': {
        const items = fields[kind];
        if (!Array.isArray(items) || items.length === 0) this.fail(`${path}/${kind}`, `${kind} takes a non-empty list of conditions`);
        const parts = items.map((item, i) => this.condition(item, `${path}/${kind}/${i}`, used));
        return `(${parts.join(kind === 'all' ? ' && ' : ' || ')})`;
      }
      case 'not':
        return `!${this.condition(fields.not, `${path}/not`, used)}`;
      default: {
        const index = this.leafFor(kind, fields, path);
        used.add(index);
        return `(h[${index}] === 1)`;
      }
    }
  }

  /** Equal leaves (same kind and fields) are one leaf, measured once per evaluation. */
  private leafFor(kind: string, fields: Record<string, unknown>, path: string): number {
    const leaf = this.build(kind, fields, path);
    const key = `${kind}|${leaf.label}|${JSON.stringify(fields)}`;
    const known = this.leafIndex.get(key);
    if (known !== undefined) return known;
    this.leaves.push(leaf);
    this.leafIndex.set(key, this.leaves.length - 1);
    return this.leaves.length - 1;
  }

  private build(kind: string, fields: Record<string, unknown>, path: string): Leaf {
    switch (kind) {
      case 'counter':
      case 'noEvent': {
        const name = this.text(fields[kind], `${path}/${kind}`);
        const counter = this.counters.get(name);
        if (!counter) this.fail(`${path}/${kind}`, `unknown counter '${name}' (counters: ${[...this.counters.keys()].join(', ') || 'none'})`);
        const window = fields.within === undefined ? this.windows.get(name)! : durationAt(fields.within, `${path}/within`, this.fail);
        counter.retention = Math.max(counter.retention, window);
        const label = `${name} in ${String(fields.within ?? this.config.counters[name]!.window)}`;
        if (kind === 'noEvent') return counterLeaf(label, name, false, window, { atMost: 0 });
        return counterLeaf(label, name, counter.sum, window, this.bounds(fields, path));
      }
      case 'score': {
        const name = this.text(fields.score, `${path}/score`);
        if (!this.scoring.byName.has(name)) {
          this.fail(`${path}/score`, `unknown score '${name}' (scores in the scoring model: ${[...this.scoring.byName.keys()].join(', ') || 'none'})`);
        }
        return scoreLeaf(`score ${name}`, name, this.bounds(fields, path));
      }
      case 'known':
        if (typeof fields.known !== 'boolean') this.fail(`${path}/known`, 'known must be true (a customer id is linked) or false (anonymous)');
        return knownLeaf(fields.known);
      case 'channel': {
        const channel = this.text(fields.channel, `${path}/channel`);
        const window = fields.within === undefined ? undefined : durationAt(fields.within, `${path}/within`, this.fail);
        return channelLeaf(window === undefined ? `channel ${channel}` : `channel ${channel} in ${String(fields.within)}`, channel, window);
      }
      case 'lastSeenWithin':
        return lastSeenLeaf('ms since last seen', durationAt(fields.lastSeenWithin, `${path}/lastSeenWithin`, this.fail));
      case 'consent': {
        const key = this.text(fields.consent, `${path}/consent`);
        const parts = key.split('|');
        if (parts.length !== 2 || !parts[0] || !parts[1]) this.fail(`${path}/consent`, `'${key}' is not <channel>|<purpose>, e.g. email|marketing (* means any)`);
        return consentLeaf(`consent ${key}`, parts[0]!, parts[1]!);
      }
      default: {
        const trait = this.text(fields.trait, `${path}/trait`);
        if (fields.equals !== undefined && fields.in !== undefined) this.fail(`${path}/in`, 'give equals or in, not both');
        let values: string[] | undefined;
        if (fields.equals !== undefined) values = [this.text(fields.equals, `${path}/equals`)];
        if (fields.in !== undefined) {
          if (!Array.isArray(fields.in) || fields.in.length === 0) this.fail(`${path}/in`, 'in takes a non-empty list of values');
          values = fields.in.map((v, i) => this.text(v, `${path}/in/${i}`));
        }
        return traitLeaf(values ? `trait ${trait} in ${values.join(',')}` : `trait ${trait}`, trait, values);
      }
    }
  }

  private bounds(fields: Record<string, unknown>, path: string): { atLeast?: number; atMost?: number } {
    const bounds: { atLeast?: number; atMost?: number } = {};
    for (const bound of ['atLeast', 'atMost'] as const) {
      const value = fields[bound];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(`${path}/${bound}`, `${bound} must be a number, got ${JSON.stringify(value)}`);
      bounds[bound] = value;
    }
    if (bounds.atLeast === undefined && bounds.atMost === undefined) this.fail(path, 'give atLeast or atMost (or both)');
    return bounds;
  }

  private text(value: unknown, path: string): string {
    if (typeof value !== 'string' || value === '') this.fail(path, `must be a non-empty text, got ${JSON.stringify(value)}`);
    return value;
  }
}

function compile(config: SegmentsConfig, scoring: ScoringModel, fail: Fail): SegmentRules {
  const compiler = new Compiler(config, scoring, fail);
  const compiled = Object.entries(config.segments).map(([name, segment], i) => compiler.segment(name, i, segment));
  const segments = compiled.map(([segment]) => segment);
  // One generated function decides every segment: the V8 JIT compiles it like hand-written code,
  // where a tree of closures would cost a call per node. Its text is built from leaf indices and
  // operators only, never from text of the rule file.
  const body = compiled.map(([, expression], i) => `o[${i}] = ${expression} ? 1 : 0;`).join('\n');
  const decide = new Function('h', 'o', body) as SegmentRules['decide'];
  return {
    counters: [...compiler.counters.values()],
    counterByName: compiler.counters,
    segments,
    segmentIndex: new Map(segments.map((s) => [s.name, s.index])),
    leaves: compiler.leaves,
    decide,
    eventsPerCounter: config.limits?.eventsPerCounter ?? DEFAULT_EVENTS_PER_COUNTER,
  };
}

/** `scoring` is the model the rules' score conditions must name. */
export function loadSegmentRules(file: string, scoring: ScoringModel): SegmentRules {
  let rules: SegmentRules | undefined;
  loadConfig<SegmentsConfig>(file, schema, (config, fail) => (rules = compile(config, scoring, fail)));
  return rules!;
}

export function parseSegmentRules(file: string, text: string, scoring: ScoringModel): SegmentRules {
  let rules: SegmentRules | undefined;
  parseConfig<SegmentsConfig>(file, text, schema, (config, fail) => (rules = compile(config, scoring, fail)));
  return rules!;
}
