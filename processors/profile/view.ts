import type { ProfileState } from '../model/profile-state';
import type { ScoringModel } from '../scoring/model';
import { topContributions, valueAt } from '../scoring/state';
import { isKnown } from './state';

/** schemas/ScoreView.avsc */
export interface ScoreView {
  name: string;
  value: number;
  topContributions: Record<string, number>;
}

/** schemas/ProfileView.avsc: what channels see of a person (one voice). */
export interface ProfileView {
  profileId: string;
  known: boolean;
  firstSeen: number;
  lastSeen: number;
  identifiers: Record<string, string[]>;
  channels: Record<string, number>;
  segments: string[];
  scores: ScoreView[];
  consent: Record<string, boolean>;
  recentJourney: string[];
}

/**
 * The unified view of a profile as of event time `at` (scores decayed to
 * it), for profiles.view and the profile query API. Identifier lists are
 * the state's own: serialise the view before the state changes again.
 */
export function profileView(state: ProfileState, model: ScoringModel, at: number = state.lastSeen): ProfileView {
  const channels: Record<string, number> = {};
  for (const name in state.channels) channels[name] = state.channels[name]!.count;
  const consent: Record<string, boolean> = {};
  for (const key in state.consent) consent[key] = state.consent[key]!.value;
  const scores: ScoreView[] = [];
  for (const { name } of model.scores) {
    const score = state.scores[name];
    if (score) scores.push({ name, value: valueAt(score, at), topContributions: topContributions(score, at, model.explain) });
  }
  return {
    profileId: state.id,
    known: isKnown(state),
    firstSeen: state.firstSeen,
    lastSeen: state.lastSeen,
    identifiers: state.identifiers,
    channels,
    segments: Object.keys(state.segments).sort(),
    scores,
    consent,
    recentJourney: state.journey.map((e) => `${new Date(e.at).toISOString()} ${e.channel} ${e.eventType} ${e.category ?? '-'}`),
  };
}
