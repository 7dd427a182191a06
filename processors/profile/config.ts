import { parseDuration, positiveDurationSchema } from '../../config/duration';
import { loadConfigFile, type ConfigFile, type Fail } from '../../config/load';
import { mapByName } from '../../config/names';

/** config/profile.yaml, with every duration in milliseconds. */
export interface ProfileConfig {
  /** Inactivity after which a channel's next touch starts a new session. */
  sessionGap: number;
  /** Per channel overrides of `sessionGap` (a branch visit lasts longer than an app session). */
  sessionGapByChannel: Record<string, number>;
  /** Most recent touchpoints kept in the journey. */
  journeyLength: number;
  /** Most recent event ids kept to drop duplicates (producer retries), the journey's included: at least `journeyLength`. */
  recentEventIds: number;
  /** A profile's view goes to profiles.view at most once per this much event time. */
  viewInterval: number;
  /** How long state is kept (event time); null: for ever. */
  retention: {
    /** A profile with no touchpoint for this long is forgotten; null: never. */
    inactiveAfter: number | null;
    /** A merged-away profile's forwarding pointer is removed this long after the merge; null: never. */
    pointersFor: number | null;
  };
}

/** The file as written: durations as text ("30m"). */
interface ProfileFile {
  sessions: { inactivityGap: string; channels?: Record<string, string> };
  journey: { length: number };
  deduplication: { recentEventIds: number };
  view: { throttle: string };
  retention?: { inactiveAfter?: string; forwardingPointersFor?: string };
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['sessions', 'journey', 'deduplication', 'view'],
  properties: {
    sessions: {
      type: 'object',
      additionalProperties: false,
      required: ['inactivityGap'],
      properties: { inactivityGap: positiveDurationSchema, channels: mapByName(positiveDurationSchema) },
    },
    journey: {
      type: 'object',
      additionalProperties: false,
      required: ['length'],
      properties: { length: { type: 'integer', minimum: 1, maximum: 200 } },
    },
    deduplication: {
      type: 'object',
      additionalProperties: false,
      required: ['recentEventIds'],
      properties: { recentEventIds: { type: 'integer', minimum: 1, maximum: 1000 } },
    },
    view: {
      type: 'object',
      additionalProperties: false,
      required: ['throttle'],
      properties: { throttle: positiveDurationSchema },
    },
    retention: {
      type: 'object',
      additionalProperties: false,
      properties: { inactiveAfter: positiveDurationSchema, forwardingPointersFor: positiveDurationSchema },
    },
  },
} as const;

function compile(file: ProfileFile, _context: void, fail: Fail): ProfileConfig {
  if (file.deduplication.recentEventIds < file.journey.length) {
    fail('/deduplication/recentEventIds', `must be at least journey.length (${file.journey.length}): the journey's event ids are the most recent ones remembered`);
  }
  const sessionGapByChannel: Record<string, number> = {};
  for (const [channel, gap] of Object.entries(file.sessions.channels ?? {})) sessionGapByChannel[channel] = parseDuration(gap);
  return {
    sessionGap: parseDuration(file.sessions.inactivityGap),
    sessionGapByChannel,
    journeyLength: file.journey.length,
    recentEventIds: file.deduplication.recentEventIds,
    viewInterval: parseDuration(file.view.throttle),
    retention: {
      inactiveAfter: file.retention?.inactiveAfter ? parseDuration(file.retention.inactiveAfter) : null,
      pointersFor: file.retention?.forwardingPointersFor ? parseDuration(file.retention.forwardingPointersFor) : null,
    },
  };
}

/** config/profile.yaml */
export const profileFile: ConfigFile<ProfileFile, ProfileConfig> = { name: 'profile.yaml', schema, compile };

/** For callers that read this one file (bench/profile.ts). */
export function loadProfileConfig(file: string): ProfileConfig {
  return loadConfigFile(profileFile, file, undefined);
}
