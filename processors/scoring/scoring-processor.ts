import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor';
import type { ScoreState } from '../model/profile-state';
import { currentProfile, type ProfileUpdate } from '../model/profile-update';
import type { Touchpoint } from '../model/touchpoint';
import { PROFILES } from '../profile/profile-processor';
import { Hits, type ScoringModel } from './model';
import { addEvent, copyScore, keepLargest, scoreValues, valueAt } from './state';

/**
 * n=1 scoring, fused after the profile node: every score of the model is
 * kept per person, known or anonymous, and updated by each touchpoint it
 * matches. Sets `scoresBefore` (values just before this update, at the
 * same event time) so that later nodes can see a threshold being crossed,
 * and hands the update on to 'segmentation'. Writes the profile's scores
 * (store `profiles`; see ProfileUpdate for who writes the profile).
 */
export class ScoringProcessor implements Processor<string, ProfileUpdate> {
  private readonly hits = new Hits();

  constructor(private readonly model: ScoringModel) {}

  async process(record: StreamRecord<string, ProfileUpdate>, ctx: ProcessorContext): Promise<void> {
    const update = record.value;
    const current = await currentProfile(ctx, record.key);
    const scores = { ...current.scores };
    this.dropRemovedScores(scores);
    let scoresBefore: Record<string, number>;
    if (update.touchpoint) scoresBefore = this.score(scores, update.touchpoint);
    else {
      scoresBefore = scoreValues(update.merge?.winnerBefore?.scores ?? {}, record.timestamp);
      for (const name in scores) {
        const score = copyScore(scores[name]!);
        keepLargest(score.contributions, this.model.explain);
        scores[name] = score;
      }
    }
    const profile = { ...current, scores };
    ctx.store(PROFILES).put(record.key, profile);
    ctx.forward('segmentation', record.key, { ...update, profile, scoresBefore });
  }

  /** Adds the touchpoint to the scores it matches, in `scores` (a copy this node owns); returns the values before. */
  private score(scores: Record<string, ScoreState>, touchpoint: Touchpoint): Record<string, number> {
    const at = touchpoint.occurredAt;
    const before: Record<string, number> = {};
    for (const score of this.model.scores) {
      const current = scores[score.name];
      before[score.name] = current ? valueAt(current, Math.max(current.at, at)) : 0;
      if (!score.matches(touchpoint)) continue;
      this.hits.reset();
      score.collect(touchpoint, this.hits);
      const next = addEvent(current, at, this.hits, score.recency, score.halfLife, this.model.explain);
      if (next) scores[score.name] = next;
    }
    return before;
  }

  /** A score taken out of the model leaves the profiles it was kept on. */
  private dropRemovedScores(scores: Record<string, ScoreState>): void {
    for (const name in scores) if (!this.model.byName.has(name)) delete scores[name];
  }
}
