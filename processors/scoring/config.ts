import { loadConfig, parseConfig } from '../../config/load';
import { durationAt } from '../../config/duration';
import { eventFilterSchema, type EventFilterConfig } from '../profile/event-filter';
import { compileScoringModel, type ScoringModel } from './model';

/** config/scoring.yaml as written. */
export interface ScoringConfig {
  /** Contributions kept per score, largest first: the explanation a decision can show. */
  explain: number;
  scores: Record<string, ScoreConfig>;
}

export interface ScoreConfig {
  description?: string;
  /** A contribution is worth half as much this long (event time) after its event, e.g. 14d. */
  halfLife: string;
  /** Only touchpoints that match are scored (all of them when absent). */
  when?: EventFilterConfig;
  signals: SignalsConfig;
}

/** Weights added by each matching touchpoint, each under its own signal name. */
export interface SignalsConfig {
  /** eventType -> weight, e.g. { login: 3 } (signal `eventType:login`) */
  eventType?: Record<string, number>;
  /** source.medium -> weight (traffic source) */
  medium?: Record<string, number>;
  channel?: Record<string, number>;
  /** page.category -> weight */
  category?: Record<string, number>;
  /** page.path prefix -> weight; the longest matching prefix counts */
  path?: Record<string, number>;
  /** On-page events: attribute `key` present, or `key=value`, -> weight */
  attribute?: Record<string, number>;
  /** Time on page: perSecond * seconds, at most max */
  dwell?: { perSecond: number; max: number };
  /** Pages into the session: perPage * page.depth, at most max */
  depth?: { perPage: number; max: number };
  /** Added by every matching touchpoint: with decay, how often the person comes lately */
  frequency?: number;
  /** Worth of the latest matching touchpoint only (not summed): how recently the person came */
  recency?: number;
}

const weights = { type: 'object', minProperties: 1, additionalProperties: { type: 'number' } } as const;
const capped = (rate: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: [rate, 'max'],
    properties: { [rate]: { type: 'number' }, max: { type: 'number' } },
  }) as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['explain', 'scores'],
  properties: {
    explain: { type: 'integer', minimum: 1, maximum: 50 },
    scores: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['halfLife', 'signals'],
        properties: {
          description: { type: 'string' },
          halfLife: { type: 'string' },
          when: eventFilterSchema,
          signals: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              eventType: weights,
              medium: weights,
              channel: weights,
              category: weights,
              path: weights,
              attribute: weights,
              dwell: capped('perSecond'),
              depth: capped('perPage'),
              frequency: { type: 'number' },
              recency: { type: 'number' },
            },
          },
        },
      },
    },
  },
} as const;

/** Score names are referred to from segment rules and shown to channels: keep them plain. */
const SCORE_NAME = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;

function compile(config: ScoringConfig, fail: (path: string, problem: string) => never): ScoringModel {
  const halfLives: Record<string, number> = {};
  for (const [name, score] of Object.entries(config.scores)) {
    if (!SCORE_NAME.test(name) || name in Object.prototype) fail(`/scores/${name}`, `'${name}' is not a valid score name: use lower case letters, digits and _, parts separated by dots (e.g. intent.mortgage), and not a word JavaScript objects reserve (constructor)`);
    halfLives[name] = durationAt(score.halfLife, `/scores/${name}/halfLife`, fail);
  }
  return compileScoringModel(config, halfLives);
}

export function loadScoringModel(file: string): ScoringModel {
  let model: ScoringModel | undefined;
  loadConfig<ScoringConfig>(file, schema, (config, fail) => (model = compile(config, fail)));
  return model!;
}

export function parseScoringModel(file: string, text: string): ScoringModel {
  let model: ScoringModel | undefined;
  parseConfig<ScoringConfig>(file, text, schema, (config, fail) => (model = compile(config, fail)));
  return model!;
}
