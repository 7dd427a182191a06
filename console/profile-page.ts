import type { ProfileState } from '../processors/model/profile-state';
import { profileView } from '../processors/profile/view';
import type { ScoringModel } from '../processors/scoring/model';
import type { Activity } from './activity';
import type { ConsoleCommand, ConsoleProfile, NextView } from './model';

/**
 * The agent's page of one person: the profile's own state (the owner
 * instance's committed store) with what the console read of them from the
 * output topics (commands with their traces, decisions not sent, merges).
 * A command is in both when it is recent: its status comes from the
 * profile (channels report outcomes to it), its trace from the topic.
 */
export function consoleProfile(state: ProfileState, scoring: ScoringModel, activity: Activity, next: NextView): ConsoleProfile {
  const view = profileView(state, scoring);
  const read = activity.personActivity(state.id);
  const traced = new Map(read.commands.map((c) => [c.commandId, c]));
  const commands: ConsoleCommand[] = state.engagement.sent.map((sent) => {
    const fromTopic = traced.get(sent.commandId);
    traced.delete(sent.commandId);
    return fromTopic
      ? { ...fromTopic, status: sent.status }
      : { commandId: sent.commandId, profileId: state.id, triggerId: sent.triggerId, channel: sent.channel, action: sent.action, at: sent.at, expiresAt: null, status: sent.status, trace: null };
  });
  commands.push(...traced.values());
  commands.sort((a, b) => b.at - a.at);
  return {
    profileId: state.id,
    known: view.known,
    firstSeen: state.firstSeen,
    lastSeen: state.lastSeen,
    asOf: state.lastSeen,
    timeZone: state.timeZone?.value ?? null,
    identifiers: Object.entries(state.identifiers).map(([type, hashes]) => ({ type, hashes: [...hashes] })),
    channels: Object.entries(state.channels).map(([channel, c]) => ({ channel, count: c.count, lastAt: c.lastAt, sessionDepth: c.session?.depth ?? null })),
    consent: Object.entries(state.consent).map(([key, stamped]) => {
      const [channel = key, purpose = '*'] = key.split('|');
      return { channel, purpose, granted: stamped.value, at: stamped.at };
    }),
    scores: view.scores.map((s) => ({ name: s.name, value: s.value, contributions: Object.entries(s.topContributions).map(([signal, value]) => ({ signal, value })) })),
    segments: Object.entries(state.segments).map(([name, m]) => ({ name, since: m.since })).sort((a, b) => b.since - a.since),
    journey: [...state.journey].reverse().map((e) => ({ at: e.at, eventId: e.eventId, channel: e.channel, eventType: e.eventType, category: e.category, path: e.path })),
    commands,
    decisions: read.decisions,
    merges: read.merges,
    next,
  };
}
