import { durationAt } from '../../config/duration';
import { loadConfig, parseConfig } from '../../config/load';

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
}

/** The file as written: durations as text ("30m"). */
interface ProfileFile {
  sessions: { inactivityGap: string; channels?: Record<string, string> };
  journey: { length: number };
  deduplication: { recentEventIds: number };
  view: { throttle: string };
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
      properties: { inactivityGap: { type: 'string' }, channels: { type: 'object', additionalProperties: { type: 'string' } } },
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
      properties: { throttle: { type: 'string' } },
    },
  },
} as const;

function resolve(file: ProfileFile, fail: (path: string, problem: string) => never): ProfileConfig {
  const sessionGapByChannel: Record<string, number> = {};
  for (const [channel, gap] of Object.entries(file.sessions.channels ?? {})) {
    sessionGapByChannel[channel] = durationAt(gap, `/sessions/channels/${channel}`, fail);
  }
  if (file.deduplication.recentEventIds < file.journey.length) {
    fail('/deduplication/recentEventIds', `must be at least journey.length (${file.journey.length}): the journey's event ids are the most recent ones remembered`);
  }
  return {
    sessionGap: durationAt(file.sessions.inactivityGap, '/sessions/inactivityGap', fail),
    sessionGapByChannel,
    journeyLength: file.journey.length,
    recentEventIds: file.deduplication.recentEventIds,
    viewInterval: durationAt(file.view.throttle, '/view/throttle', fail),
  };
}

export function loadProfileConfig(file: string): ProfileConfig {
  let config: ProfileConfig | undefined;
  loadConfig<ProfileFile>(file, schema, (value, fail) => (config = resolve(value, fail)));
  return config!;
}

export function parseProfileConfig(file: string, text: string): ProfileConfig {
  let config: ProfileConfig | undefined;
  parseConfig<ProfileFile>(file, text, schema, (value, fail) => (config = resolve(value, fail)));
  return config!;
}
