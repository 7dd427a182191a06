import { outputs, type Processor, type ProcessorContext, type StreamRecord } from '../../runtime/processor';
import type { ProfileState } from '../model/profile-state';
import type { ProfileUpdate } from '../model/profile-update';
import type { Touchpoint } from '../model/touchpoint';
import { Hits, type ScoringModel } from './model';
import { addEvent, keepLargest, scoreValues, valueAt } from './state';

/**
 * n=1 scoring, fused after the profile node: every score of the model is
 * kept per person, known or anonymous, and updated by each touchpoint it
 * matches. Sets `scoresBefore` (values just before this update, at the
 * same event time) so that later nodes can see a threshold being crossed,
 * and hands the update on to 'segmentation'.
 */
export const SCORING_OUTPUTS = outputs('segmentation');
type Out = (typeof SCORING_OUTPUTS)[number];

export class ScoringProcessor implements Processor<string, ProfileUpdate, Out> {
  private readonly hits = new Hits();

  constructor(private readonly model: ScoringModel) {}

  process(record: StreamRecord<string, ProfileUpdate>, ctx: ProcessorContext<Out>): void {
    const update = record.value;
    const profile = update.profile;
    this.dropRemovedScores(profile);
    let scoresBefore: Record<string, number>;
    if (update.touchpoint) scoresBefore = this.score(profile, update.touchpoint);
    else if (update.split) {
      // A merge undone: the side's scores are its base's (the profile node's rebuild) with its own touchpoints added
      // again; their values now are also "before", so that no threshold counts as crossed.
      for (const touchpoint of update.split.events) this.score(profile, touchpoint);
      scoresBefore = scoreValues(profile.scores, record.timestamp);
    } else {
      scoresBefore = scoreValues(update.merge?.winnerBefore?.scores ?? {}, record.timestamp);
      for (const name in profile.scores) keepLargest(profile.scores[name]!.contributions, this.model.explain);
    }
    ctx.forward('segmentation', record.key, { ...update, scoresBefore });
  }

  private score(profile: ProfileState, touchpoint: Touchpoint): Record<string, number> {
    const at = touchpoint.occurredAt;
    const before: Record<string, number> = {};
    for (const score of this.model.scores) {
      const current = profile.scores[score.name];
      before[score.name] = current ? valueAt(current, Math.max(current.at, at)) : 0;
      if (!score.matches(touchpoint)) continue;
      this.hits.reset();
      score.collect(touchpoint, this.hits);
      const next = addEvent(current, at, this.hits, score.recency, score.halfLife, this.model.explain);
      if (next) profile.scores[score.name] = next;
    }
    return before;
  }

  /** A score taken out of the model leaves the profiles it was kept on. */
  private dropRemovedScores(profile: ProfileState): void {
    for (const name in profile.scores) if (!this.model.byName.has(name)) delete profile.scores[name];
  }
}
