import { loadConfigFile, type ConfigFile } from '../../config/load';
import { parseDuration, positiveDurationSchema } from '../../config/duration';
import { mapByName } from '../../config/names';
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
    // referred to from rules and shown to channels: plain names
    scores: mapByName(
      {
        type: 'object',
        additionalProperties: false,
        required: ['halfLife', 'signals'],
        properties: {
          description: { type: 'string' },
          halfLife: positiveDurationSchema,
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
      { minProperties: 1, dotted: true },
    ),
  },
} as const;

function compile(config: ScoringConfig): ScoringModel {
  const halfLives: Record<string, number> = {};
  for (const [name, score] of Object.entries(config.scores)) halfLives[name] = parseDuration(score.halfLife);
  return compileScoringModel(config, halfLives);
}

/** config/scoring.yaml */
export const scoringFile: ConfigFile<ScoringConfig, ScoringModel> = { name: 'scoring.yaml', schema, compile };

/** For callers that read this one file (bench/profile.ts). */
export function loadScoringModel(file: string): ScoringModel {
  return loadConfigFile(scoringFile, file, undefined);
}
