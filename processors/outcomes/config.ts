import { loadConfig, parseConfig } from '../../config/load';
import { durationSchema, parseDuration } from '../../config/duration';

/** config/engagement.yaml → `outcomes` */
export interface OutcomesConfig {
  /** A conversion counts for an exposure if it happens within this time after it (a trigger's `measure` may override). */
  attributionWindow: string;
  /** Event types that count as a conversion (besides `converted` outcomes), unless a trigger's `measure` says otherwise. */
  conversionEvents: string[];
  /** How often running counts go to engagement.lift, per trigger. */
  lift: {
    /** Emit after this many changes... */
    everyChanges: number;
    /** ...or when this much event time passed since the last emit (a timer flushes the rest). */
    maxInterval: string;
  };
}

const NAME = '^[a-z][a-z0-9_]*$';

const outcomesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['attributionWindow', 'conversionEvents', 'lift'],
  properties: {
    attributionWindow: durationSchema,
    conversionEvents: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: NAME } },
    lift: {
      type: 'object',
      additionalProperties: false,
      required: ['everyChanges', 'maxInterval'],
      properties: { everyChanges: { type: 'integer', minimum: 1 }, maxInterval: durationSchema },
    },
  },
} as const;

/** engagement.yaml as processors/outcomes sees it: `eligibility` is checked by processors/triggers. */
const engagementFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['outcomes'],
  properties: { eligibility: { type: 'object' }, outcomes: outcomesSchema },
} as const;

function check(file: { outcomes: OutcomesConfig }, fail: (path: string, problem: string) => never): void {
  if (parseDuration(file.outcomes.attributionWindow) === 0) fail('/outcomes/attributionWindow', 'must be longer than 0');
}

export function loadOutcomesConfig(file: string): OutcomesConfig {
  return loadConfig<{ outcomes: OutcomesConfig }>(file, engagementFileSchema, check).outcomes;
}

export function parseOutcomesConfig(file: string, text: string): OutcomesConfig {
  return parseConfig<{ outcomes: OutcomesConfig }>(file, text, engagementFileSchema, check).outcomes;
}
