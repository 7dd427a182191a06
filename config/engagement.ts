import { outcomesSchema, type OutcomesConfig } from '../processors/outcomes/config';
import { checkEligibility, eligibilitySchema, type EligibilityConfig, type TriggersFile } from '../processors/triggers/config';
import type { ConfigFile } from './load';

/** config/engagement.yaml: the permission policy (processors/triggers) and how success is measured (processors/outcomes). */
export interface EngagementConfig {
  eligibility: EligibilityConfig;
  outcomes: OutcomesConfig;
}

/** Read once for both processors; checked against the trigger rules that send through it. */
export const engagementFile: ConfigFile<EngagementConfig, EngagementConfig, TriggersFile> = {
  name: 'engagement.yaml',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['eligibility', 'outcomes'],
    properties: { eligibility: eligibilitySchema, outcomes: outcomesSchema },
  },
  compile(config, rules, fail) {
    checkEligibility(config.eligibility, rules, fail);
    return config;
  },
};
