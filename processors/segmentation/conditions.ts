import { parseDuration, positiveDurationSchema } from '../../config/duration';
import type { Fail } from '../../config/load';
import { dottedNameSchema, nameSchema } from '../../config/names';
import {
  channelLeaf,
  consentLeaf,
  counterLeaf,
  knownLeaf,
  lastSeenLeaf,
  scoreLeaf,
  segmentLeaf,
  traitLeaf,
  Measurement,
  type Bounds,
  type CompiledCounter,
  type Leaf,
} from './rules';
import type { ProfileState } from '../model/profile-state';

/**
 * The rule language of segments.yaml `when` and triggers.yaml `who`: one
 * syntax, one schema, one compiler. A condition is a combination or one
 * leaf, a measurable fact about a profile at an evaluation time.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | ({ counter: string; within?: string } & Bounds)
  | { noEvent: string; within?: string }
  | ({ score: string } & Bounds)
  | { segment: string }
  | { known: boolean }
  | { channel: string; within?: string }
  | { lastSeenWithin: string }
  | { consent: { channel: string; purpose: Purpose | '*' } }
  | { trait: string; equals?: string; in?: string[] };

/** A condition that is one leaf. */
type LeafCondition = Exclude<Condition, { all: Condition[] } | { any: Condition[] } | { not: Condition }>;

export const PURPOSES = ['marketing', 'service'] as const;
export type Purpose = (typeof PURPOSES)[number];

const condition = { $ref: '#/$defs/condition' } as const;
const conditions = { type: 'array', minItems: 1, items: condition } as const;
const bound = { type: 'number' } as const;
const bounds = { atLeast: bound, atMost: bound, above: bound, below: bound } as const;
const someBound = { anyOf: Object.keys(bounds).map((b) => ({ type: 'object', required: [b] })) };

/** Each kind's fields (the first names the kind), and what else the kind asks. */
const KINDS: Record<string, { fields: Record<string, object>; also?: object }> = {
  all: { fields: { all: conditions } },
  any: { fields: { any: conditions } },
  not: { fields: { not: condition } },
  counter: { fields: { counter: nameSchema, ...bounds, within: positiveDurationSchema }, also: someBound },
  noEvent: { fields: { noEvent: nameSchema, within: positiveDurationSchema } },
  score: { fields: { score: dottedNameSchema, ...bounds }, also: someBound },
  segment: { fields: { segment: nameSchema } },
  known: { fields: { known: { type: 'boolean' } } },
  channel: { fields: { channel: nameSchema, within: positiveDurationSchema } },
  lastSeenWithin: { fields: { lastSeenWithin: positiveDurationSchema } },
  consent: {
    fields: {
      consent: {
        type: 'object',
        additionalProperties: false,
        required: ['channel', 'purpose'],
        properties: { channel: { anyOf: [nameSchema, { const: '*' }] }, purpose: { enum: [...PURPOSES, '*'] } },
      },
    },
  },
  trait: {
    fields: { trait: { type: 'string', minLength: 1 }, equals: { type: 'string' }, in: { type: 'array', minItems: 1, items: { type: 'string' } } },
    also: { not: { type: 'object', required: ['equals', 'in'] } },
  },
};

/**
 * `$defs/condition` of a rule file's schema (its `$ref`s are to
 * `#/$defs/condition`). Exactly one kind per condition; each kind's fields
 * are checked on their own, so a misspelt field is named with its kind.
 */
export const conditionSchema = {
  title: 'a condition',
  type: 'object',
  properties: Object.assign({}, ...Object.values(KINDS).map((k) => k.fields)) as Record<string, object>,
  oneOf: Object.keys(KINDS).map((kind) => ({ type: 'object', required: [kind] })),
  allOf: Object.entries(KINDS).map(([kind, { fields, also }]) => ({
    if: { type: 'object', required: [kind] },
    then: { title: `a '${kind}' condition`, type: 'object', properties: fields, additionalProperties: false, ...also },
  })),
};

/** Refuses the forms segments.yaml and triggers.yaml used before they shared this language, with the form to write. */
export function refuseRetiredForms(value: unknown, path: string, fail: Fail): void {
  if (typeof value !== 'object' || value === null) return;
  const c = value as Record<string, unknown>;
  if (typeof c.consent === 'string') {
    const [channel, purpose] = c.consent.split('|');
    fail(`${path}/consent`, `consent: '${c.consent}' is the old form: write consent: { channel: ${channel}, purpose: ${purpose ?? '<purpose>'} }`);
  }
  if (typeof c.score === 'object' && c.score !== null) {
    const { name, ...rest } = c.score as Record<string, unknown>;
    const moved = Object.entries(rest).map(([k, v]) => `, ${k}: ${String(v)}`).join('');
    fail(`${path}/score`, `score: { name: ${String(name)}, ... } is the old form: write { score: ${String(name)}${moved} } (atLeast, atMost, above, below beside it)`);
  }
  for (const kind of ['all', 'any'] as const) {
    const items = c[kind];
    if (Array.isArray(items)) items.forEach((item, i) => refuseRetiredForms(item, `${path}/${kind}/${i}`, fail));
  }
  if (c.not !== undefined) refuseRetiredForms(c.not, `${path}/not`, fail);
}

/** What a condition may name: scores of scoring.yaml, counters and segments of segments.yaml. */
export interface Vocabulary {
  scores: ReadonlySet<string>;
  counters: ReadonlyMap<string, CompiledCounter>;
  /** null where conditions cannot read segments: in segments.yaml, whose memberships are decided together. */
  segments: ReadonlySet<string> | null;
}

/** Whether a condition holds, given which leaves hold (1). */
export type HeldTest = (held: Uint8Array) => boolean;

/**
 * Compiles conditions into leaves and closures over which of them hold.
 * Equal leaves (same kind and fields) are one leaf, measured once per
 * evaluation. Checks what the schema cannot: the names a condition uses.
 */
export class ConditionCompiler {
  readonly leaves: Leaf[] = [];
  /** Scores and segments the conditions read. */
  readonly scoreRefs = new Set<string>();
  readonly segmentRefs = new Set<string>();
  private readonly leafIndex = new Map<string, number>();

  constructor(
    private readonly vocabulary: Vocabulary,
    private readonly fail: Fail,
  ) {}

  /** `used` receives the indices of the leaves under the condition. */
  compile(c: Condition, path: string, used: Set<number>): HeldTest {
    const node = this.node(c, path, used);
    return typeof node === 'number' ? (held) => held[node] === 1 : node;
  }

  /** A leaf's index, or a test: a combination reads its leaves in place rather than through a call each. */
  private node(c: Condition, path: string, used: Set<number>): number | HeldTest {
    if ('all' in c || 'any' in c) {
      const all = 'all' in c;
      const items = all ? c.all : c.any;
      const parts = items.map((item, i) => this.node(item, `${path}/${all ? 'all' : 'any'}/${i}`, used));
      const leaves = parts.filter((p): p is number => typeof p === 'number');
      const tests = parts.filter((p): p is HeldTest => typeof p !== 'number');
      return all ? every(leaves, tests) : some(leaves, tests);
    }
    if ('not' in c) {
      const inner = this.node(c.not, `${path}/not`, used);
      if (typeof inner === 'number') return (held) => held[inner] !== 1;
      return (held) => !inner(held);
    }
    const index = this.leafFor(c, path);
    used.add(index);
    return index;
  }

  private leafFor(c: LeafCondition, path: string): number {
    const leaf = this.build(c, path);
    const key = `${leaf.label}|${JSON.stringify(c)}`;
    const known = this.leafIndex.get(key);
    if (known !== undefined) return known;
    this.leaves.push(leaf);
    this.leafIndex.set(key, this.leaves.length - 1);
    return this.leaves.length - 1;
  }

  private build(c: LeafCondition, path: string): Leaf {
    if ('counter' in c || 'noEvent' in c) {
      const name = 'counter' in c ? c.counter : c.noEvent;
      const counter = this.vocabulary.counters.get(name);
      const at = `${path}/${'counter' in c ? 'counter' : 'noEvent'}`;
      if (!counter) this.fail(at, `unknown counter '${name}' (counters in segments.yaml: ${[...this.vocabulary.counters.keys()].join(', ') || 'none'})`);
      const written = c.within ?? counter.window;
      const window = parseDuration(written);
      // the longest window any rule reads a counter with, a trigger's included, is how long its events are kept
      counter.retention = Math.max(counter.retention, window);
      const label = `${name} in ${written}`;
      if ('noEvent' in c) return counterLeaf(label, name, false, window, { atMost: 0 });
      return counterLeaf(label, name, counter.sum, window, c);
    }
    if ('score' in c) {
      if (!this.vocabulary.scores.has(c.score)) {
        this.fail(`${path}/score`, `unknown score '${c.score}' (scores in scoring.yaml: ${[...this.vocabulary.scores].join(', ') || 'none'})`);
      }
      this.scoreRefs.add(c.score);
      return scoreLeaf(`score ${c.score}`, c.score, c);
    }
    if ('segment' in c) {
      const segments = this.vocabulary.segments;
      if (segments === null) this.fail(`${path}/segment`, "a segment cannot depend on another segment's membership (all are decided together): repeat that segment's condition here");
      if (!segments.has(c.segment)) this.fail(`${path}/segment`, `unknown segment '${c.segment}' (segments in segments.yaml: ${[...segments].join(', ') || 'none'})`);
      this.segmentRefs.add(c.segment);
      return segmentLeaf(c.segment);
    }
    if ('known' in c) return knownLeaf(c.known);
    if ('channel' in c) {
      const window = c.within === undefined ? undefined : parseDuration(c.within);
      return channelLeaf(window === undefined ? `channel ${c.channel}` : `channel ${c.channel} in ${c.within}`, c.channel, window);
    }
    if ('lastSeenWithin' in c) return lastSeenLeaf('ms since last seen', parseDuration(c.lastSeenWithin));
    if ('consent' in c) {
      const { channel, purpose } = c.consent;
      return consentLeaf(`consent ${channel}|${purpose}`, channel, purpose);
    }
    const values = c.equals !== undefined ? [c.equals] : c.in;
    return traitLeaf(values ? `trait ${c.trait} in ${values.join(',')}` : `trait ${c.trait}`, c.trait, values);
  }
}

/** A condition over a profile at event time `at` (scores decay, windows slide). */
export type ProfilePredicate = (profile: ProfileState, at: number) => boolean;

/** One condition as a predicate of its own (a trigger's `who`): its leaves measured, then its logic. */
export function compilePredicate(compiler: ConditionCompiler, c: Condition, path: string): ProfilePredicate {
  const test = compiler.compile(c, path, new Set());
  const measurement = new Measurement(compiler.leaves);
  return (profile, at) => {
    measurement.measure(profile, at);
    return test(measurement.held);
  };
}

/** All of the leaves hold and all of the tests pass. */
function every(leaves: number[], tests: HeldTest[]): HeldTest {
  if (tests.length === 0 && leaves.length === 2) {
    const [a, b] = leaves as [number, number];
    return (held) => held[a] === 1 && held[b] === 1;
  }
  return (held) => {
    for (let i = 0; i < leaves.length; i++) if (held[leaves[i]!] !== 1) return false;
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(held)) return false;
    return true;
  };
}

/** One of the leaves holds or one of the tests passes. */
function some(leaves: number[], tests: HeldTest[]): HeldTest {
  if (tests.length === 0 && leaves.length === 2) {
    const [a, b] = leaves as [number, number];
    return (held) => held[a] === 1 || held[b] === 1;
  }
  return (held) => {
    for (let i = 0; i < leaves.length; i++) if (held[leaves[i]!] === 1) return true;
    for (let i = 0; i < tests.length; i++) if (tests[i]!(held)) return true;
    return false;
  };
}
