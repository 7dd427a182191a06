import { durationSchema, positiveDurationSchema } from '../../config/duration';
import { nameSchema } from '../../config/names';
import type { TriggersFile } from '../triggers/config';

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

/**
 * Rules measured against a holdout (enabled, holdout above 0) that inherit
 * the default conversion events: the loader cannot know what a rule's
 * outcome produces, and a rule whose people never produce the defaults
 * measures a lift of zero however well it works. Warnings, not errors:
 * the defaults may well fit, and saying so in `measure.conversionEvents`
 * silences them.
 */
export function inheritedConversionWarnings(outcomes: OutcomesConfig, rules: TriggersFile): string[] {
  const warnings: string[] = [];
  for (const rule of rules.triggers) {
    const holdoutPercent = rule.engage.holdoutPercent ?? rules.defaults.holdoutPercent;
    if (rule.enabled === false || holdoutPercent === 0 || rule.measure?.conversionEvents !== undefined) continue;
    warnings.push(
      `triggers.yaml: rule ${rule.id} (${holdoutPercent}% held out) inherits the default conversion events ` +
        `[${outcomes.conversionEvents.join(', ')}] from engagement.yaml outcomes.conversionEvents; ` +
        'a rule whose outcome never produces them measures no lift: give it its own measure.conversionEvents',
    );
  }
  return warnings;
}
