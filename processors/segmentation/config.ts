import { parseDuration, positiveDurationSchema } from '../../config/duration';
import { loadConfigFile, type ConfigFile, type Fail } from '../../config/load';
import { mapByName } from '../../config/names';
import { compileEventFilter, eventFilterSchema, type EventFilterConfig } from '../profile/event-filter';
import type { ScoringModel } from '../scoring/model';
import { ConditionCompiler, conditionSchema, refuseRetiredForms, type Condition, type HeldTest } from './conditions';
import type { CompiledCounter, CompiledSegment, SegmentRules } from './rules';

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

const DEFAULT_EVENTS_PER_COUNTER = 50;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['counters', 'segments'],
  $defs: { condition: conditionSchema },
  properties: {
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: { eventsPerCounter: { type: 'integer', minimum: 1, maximum: 1000 } },
    },
    counters: mapByName({
      type: 'object',
      additionalProperties: false,
      required: ['match', 'window'],
      properties: {
        description: { type: 'string' },
        match: eventFilterSchema,
        window: positiveDurationSchema,
        aggregate: { enum: ['count', 'sum'] },
      },
    }),
    segments: mapByName(
      {
        type: 'object',
        additionalProperties: false,
        required: ['when'],
        properties: { description: { type: 'string' }, when: { $ref: '#/$defs/condition' } },
      },
      { minProperties: 1 },
    ),
  },
} as const;

function compile(config: SegmentsConfig, scoring: ScoringModel, fail: Fail): SegmentRules {
  const counters = new Map<string, CompiledCounter>();
  for (const [name, counter] of Object.entries(config.counters)) {
    counters.set(name, { name, match: compileEventFilter(counter.match), sum: counter.aggregate === 'sum', window: counter.window, retention: parseDuration(counter.window) });
  }
  const compiler = new ConditionCompiler({ scores: new Set(scoring.byName.keys()), counters, segments: null }, fail);
  const segments: CompiledSegment[] = [];
  const tests: HeldTest[] = [];
  Object.entries(config.segments).forEach(([name, segment], index) => {
    const used = new Set<number>();
    tests.push(compiler.compile(segment.when, `/segments/${name}/when`, used));
    segments.push({ name, index, leaves: [...used].sort((a, b) => a - b) });
  });
  return {
    counters: [...counters.values()],
    counterByName: counters,
    segments,
    segmentIndex: new Map(segments.map((s) => [s.name, s.index])),
    leaves: compiler.leaves,
    decide(held, decided) {
      for (let i = 0; i < tests.length; i++) decided[i] = tests[i]!(held) ? 1 : 0;
    },
    eventsPerCounter: config.limits?.eventsPerCounter ?? DEFAULT_EVENTS_PER_COUNTER,
  };
}

/** config/segments.yaml; `scoring` is the model its score conditions must name. */
export const segmentsFile: ConfigFile<SegmentsConfig, SegmentRules, ScoringModel> = {
  name: 'segments.yaml',
  schema,
  retired(value, fail) {
    const segments = (value as { segments?: unknown } | null)?.segments;
    if (typeof segments !== 'object' || segments === null) return;
    for (const [name, segment] of Object.entries(segments)) refuseRetiredForms((segment as { when?: unknown } | null)?.when, `/segments/${name}/when`, fail);
  },
  compile,
};

/** For callers that read this one file (bench/profile.ts). */
export function loadSegmentRules(file: string, scoring: ScoringModel): SegmentRules {
  return loadConfigFile(segmentsFile, file, scoring);
}
