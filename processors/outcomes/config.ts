import { durationSchema, positiveDurationSchema } from '../../config/duration';
import { nameSchema } from '../../config/names';

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

/** engagement.yaml's `outcomes` (config/engagement.ts reads the file); nothing a schema cannot say. */
export const outcomesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['attributionWindow', 'conversionEvents', 'lift'],
  properties: {
    attributionWindow: positiveDurationSchema,
    conversionEvents: { type: 'array', uniqueItems: true, items: nameSchema },
    lift: {
      type: 'object',
      additionalProperties: false,
      required: ['everyChanges', 'maxInterval'],
      properties: { everyChanges: { type: 'integer', minimum: 1 }, maxInterval: durationSchema },
    },
  },
} as const;
