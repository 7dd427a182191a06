import { outputs, type Processor, type ProcessorContext, type StreamRecord } from '../../runtime/processor';
import { IDENTITY_GRAPH_STORE } from '../stores';
import type { ProfileEvent } from '../model/profile-event';
import type { Touchpoint } from '../model/touchpoint';
import type { IdentityAudit } from './audit';
import { profileIdFor } from './identifiers';

/** A touchpoint from ingest, its identifiers hashed; `mayLink`: it carries several and is trusted to link them. */
export interface IngestedTouchpoint {
  touchpoint: Touchpoint;
  mayLink: boolean;
}

/**
 * Resolves a touchpoint: its profile is the one the strongest known
 * identifier points to in the identity graph (a table every instance
 * holds), or the profile derived from its strongest identifier. If the
 * graph is a moment behind a merge, the touchpoint goes to the merged-away
 * profile, which forwards it: nothing is lost.
 *
 * A touchpoint trusted to link goes to the link log ('to-links') only if
 * it could change the graph: an identifier the graph does not hold, or
 * identifiers of two profiles. A returning person's login, whose
 * identifiers all point to one profile already, is resolved here: the link
 * task would change nothing and forward it to that same profile, a record
 * and a hop later. (Merges only join profiles, so a graph that lags can
 * only send here what the link task would also find joined; what it does
 * not know yet goes to the link log.)
 */
export const RESOLVE_OUTPUTS = outputs('to-resolved', 'to-links', 'to-audit');
type Out = (typeof RESOLVE_OUTPUTS)[number];

export class ResolveProcessor implements Processor<string, IngestedTouchpoint, Out> {
  prefetch(record: StreamRecord<string, IngestedTouchpoint>): Iterable<[string, string]> {
    return record.value.touchpoint.identifiers.map((id) => [IDENTITY_GRAPH_STORE, id.value] as [string, string]);
  }

  async process(record: StreamRecord<string, IngestedTouchpoint>, ctx: ProcessorContext<Out>): Promise<void> {
    const { touchpoint, mayLink } = record.value;
    const graph = ctx.globalStore<string>(IDENTITY_GRAPH_STORE);
    const profiles: string[] = [];
    let unknown = false;
    for (const id of touchpoint.identifiers) {
      const profile = await graph.get(id.value);
      if (profile === undefined) unknown = true;
      else if (!profiles.includes(profile)) profiles.push(profile);
    }
    if (mayLink) {
      if (unknown || profiles.length > 1) {
        ctx.forward('to-links', touchpoint.eventId, touchpoint);
        return;
      }
      ctx.count('link-known');
    }
    const profileId = profiles[0] ?? profileIdFor(touchpoint.identifiers[0]!.value);
    if (profiles.length > 1) {
      // Two known profiles on an event that is not trusted to link: say so, link nothing.
      ctx.count('untrusted-link-refused');
      const audit: IdentityAudit = {
        kind: 'untrusted',
        at: touchpoint.occurredAt,
        eventId: touchpoint.eventId,
        profileId,
        otherProfileId: profiles[1]!,
        identifierType: null,
        detail: `${touchpoint.eventType} on ${touchpoint.channel}${touchpoint.authenticated ? '' : ' (not authenticated)'} may not link identifiers`,
      };
      ctx.forward('to-audit', profileId, audit);
    }
    const event: ProfileEvent = { profileId, at: touchpoint.occurredAt, body: { kind: 'touchpoint', touchpoint } };
    ctx.forward('to-resolved', profileId, event);
  }
}
