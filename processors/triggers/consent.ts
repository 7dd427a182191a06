import type { ProfileState } from '../model/profile-state';

export interface ConsentRecord {
  /** The consent key that decided, e.g. `email|marketing` or `*|marketing`. */
  key: string;
  granted: boolean;
  at: number;
}

/**
 * The person's own latest statement that covers (channel, purpose): of the
 * records `channel|purpose`, `channel|*`, `*|purpose` and `*|*`, the most
 * recent one by event time decides; on equal times the more specific one.
 * So "no marketing at all" given after "yes to marketing emails" wins, and
 * a later "yes to marketing emails" re-opens that one channel.
 * undefined: the person never said anything that covers it.
 */
export function consentFor(profile: ProfileState, channel: string, purpose: string): ConsentRecord | undefined {
  let best: ConsentRecord | undefined;
  for (const key of [`${channel}|${purpose}`, `${channel}|*`, `*|${purpose}`, '*|*']) {
    const record = profile.consent[key];
    if (record !== undefined && (best === undefined || record.at > best.at)) best = { key, granted: record.value, at: record.at };
  }
  return best;
}
