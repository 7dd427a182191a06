import { join } from 'node:path';
import { parseDuration } from './duration';
import { identityFile } from '../processors/identity/config';
import { inheritedConversionWarnings } from '../processors/outcomes/config';
import { profileFile } from '../processors/profile/config';
import { scoringFile } from '../processors/scoring/config';
import { segmentsFile } from '../processors/segmentation/config';
import { triggersFile } from '../processors/triggers/config';
import type { ProductConfig } from '../topology';
import { engagementFile } from './engagement';
import { loadConfigFile, type ConfigFile } from './load';

/**
 * Every rule and config file of the product, read and validated from one
 * directory, each by its declaration (schema, then compile); start-up stops
 * at the first bad one with its file, path and line. A file that names
 * things of another (a segment naming a score, a trigger a segment or a
 * channel policy) is compiled after it, with it.
 */
export function loadProductConfig(dir: string): ProductConfig {
  const load = <Raw, Compiled, Context>(file: ConfigFile<Raw, Compiled, Context>, context: Context): Compiled => loadConfigFile(file, join(dir, file.name), context);
  const scoring = load(scoringFile, undefined);
  const segments = load(segmentsFile, scoring);
  const triggers = load(triggersFile, { scoring, segments });
  const engagement = load(engagementFile, triggers);
  return {
    identity: load(identityFile, undefined),
    profile: load(profileFile, undefined),
    scoring,
    segments,
    triggers,
    eligibility: engagement.eligibility,
    outcomes: engagement.outcomes,
  };
}

/**
 * What start-up accepts but is likely a mistake, one sentence each naming
 * the file and the fix; the caller logs them (the engine at start-up,
 * `rules check` on stderr).
 */
export function configWarnings(config: ProductConfig): string[] {
  return [...inheritedConversionWarnings(config.outcomes, config.triggers), ...pointerWarnings(config)];
}

/** A split gives the restored person back their id through the forwarding pointer their merge left: it must outlive the horizon. */
function pointerWarnings(config: ProductConfig): string[] {
  const reversible = config.identity.reversibleMerges;
  const { pointersFor } = config.profile.retention;
  if (!reversible || pointersFor === null || pointersFor >= parseDuration(reversible.horizon)) return [];
  return [
    `identity.yaml reversibleMerges.horizon (${reversible.horizon}) is longer than profile.yaml retention.forwardingPointersFor: a merge undone after its pointer expired restores a person whose touchpoints since then started a profile of their own (they are folded in, but the other nodes' state of them is lost); make forwardingPointersFor at least the horizon`,
  ];
}
