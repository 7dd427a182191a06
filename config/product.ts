import { join } from 'node:path';
import { loadIdentityConfig } from '../processors/identity/config';
import { loadOutcomesConfig } from '../processors/outcomes/config';
import { loadProfileConfig } from '../processors/profile/config';
import { loadScoringModel } from '../processors/scoring/config';
import { loadSegmentRules } from '../processors/segmentation/config';
import { loadEligibilityConfig, loadTriggerRules } from '../processors/triggers/config';
import type { ProductConfig } from '../topology';

/**
 * Every rule and config file of the product, read and validated from one
 * directory; start-up stops at the first bad one with its file, path and
 * line. Files that refer to each other are checked together (a segment
 * naming an unknown score, a trigger naming an unknown channel policy).
 */
export function loadProductConfig(dir: string): ProductConfig {
  const scoring = loadScoringModel(join(dir, 'scoring.yaml'));
  const triggers = loadTriggerRules(join(dir, 'triggers.yaml'));
  return {
    identity: loadIdentityConfig(join(dir, 'identity.yaml')),
    profile: loadProfileConfig(join(dir, 'profile.yaml')),
    scoring,
    segments: loadSegmentRules(join(dir, 'segments.yaml'), scoring),
    triggers,
    eligibility: loadEligibilityConfig(join(dir, 'engagement.yaml'), triggers),
    outcomes: loadOutcomesConfig(join(dir, 'engagement.yaml')),
  };
}
