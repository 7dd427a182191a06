import type { Processor, ProcessorContext, StreamRecord } from '../../runtime/processor';
import type { ProfileEvent } from '../model/profile-event';
import type { Touchpoint } from '../model/touchpoint';
import type { IdentityAudit } from './audit';
import { profileIdFor } from './identifiers';

export const IDENTITY_GRAPH = 'identity-graph';

/**
 * Resolves a touchpoint that links nothing: its profile is the one the
 * strongest known identifier points to in the identity graph (a table
 * every instance holds), or the profile derived from its strongest
 * identifier. If the graph is a moment behind a merge, the touchpoint goes
 * to the merged-away profile, which forwards it: nothing is lost.
 */
export class ResolveProcessor implements Processor<string, Touchpoint> {
  prefetch(record: StreamRecord<string, Touchpoint>): Iterable<[string, string]> {
    return record.value.identifiers.map((id) => [IDENTITY_GRAPH, id.value] as [string, string]);
  }

  async process(record: StreamRecord<string, Touchpoint>, ctx: ProcessorContext): Promise<void> {
    const touchpoint = record.value;
    const graph = ctx.globalStore<string>(IDENTITY_GRAPH);
    const profiles: string[] = [];
    for (const id of touchpoint.identifiers) {
      const profile = await graph.get(id.value);
      if (profile !== undefined && !profiles.includes(profile)) profiles.push(profile);
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
      ctx.forward('audit', profileId, audit);
    }
    const event: ProfileEvent = { profileId, at: touchpoint.occurredAt, body: { kind: 'touchpoint', touchpoint } };
    ctx.forward('to-profiles', profileId, event);
  }
}
