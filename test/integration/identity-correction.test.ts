import { touchpointWriter } from '../../cli/app';
import { readTopics } from '../../proof/live';
import { OutputDecoder } from '../../replay/records';
import { startProductEngine } from '../support/engine';
import { connectedAdmin, productCaughtUp } from '../support/kafka';
import { eventually } from '../support/processes';
import { MINUTE, tp } from '../support/product';

/**
 * A wrong merge undone on the real stack: a call-centre agent verifies a
 * caller against the wrong customer (the call links the caller's phone to
 * the customer), and a correction through POST /identity/corrections splits
 * them again: the phone's profile is its own once more, with its own
 * touchpoints, and the customer's no longer holds them; identity.audit has
 * the split under the event id the API answered.
 */
jest.setTimeout(300_000);

const TOKEN = 'correction-token';

describe('identity corrections on Kafka', () => {
  const { kafka, admin } = connectedAdmin();

  it('splits a wrong call-centre merge through the API, each side with its own touchpoints', async () => {
    const { appId, topics, app, running } = await startProductEngine('correction-it', TOKEN);
    const { send, close } = touchpointWriter(app, topics.raw);
    const settled = () => productCaughtUp(admin, appId, topics);
    const headers = { authorization: `Bearer ${TOKEN}` };
    const profile = async (type: string, value: string) =>
      (await (await fetch(`${running.url}/profiles/by-identifier/${type}/${encodeURIComponent(value)}`, { headers })).json()) as { profileId: string; journey: { eventId: string }[] };
    const customer = { customer_id: `C-${appId}`, anonymous_id: `cookie-${appId}` };
    const callerPhone = `+35387${String(Date.now() % 10_000_000).padStart(7, '0')}`;
    const start = Date.now() - 60 * MINUTE;
    try {
      await eventually(async () => (await fetch(`${running.url}/readyz`)).ok, 'the engine to be ready');
      const customersOwn = [
        tp(start, 'web', 'login', customer, { authenticated: true }),
        tp(start + 1_000, 'web', 'page_view', { anonymous_id: customer.anonymous_id }),
      ];
      const callersOwn = [tp(start + 5 * MINUTE, 'call_centre', 'call', { phone: callerPhone }), tp(start + 6 * MINUTE, 'app', 'app_open', { phone: callerPhone })];
      await send([...customersOwn, ...callersOwn]);
      await eventually(settled, 'the two people to be processed');
      const caller = await eventually(async () => (await profile('phone', callerPhone).catch(() => undefined))?.profileId, "the caller's profile");

      const wrong = tp(start + 10 * MINUTE, 'call_centre', 'call', { customer_id: customer.customer_id, phone: callerPhone }, { authenticated: true });
      await send([wrong]);
      // the graph points the phone to the customer first; the caller's state follows through the caller's partition
      const merged = await eventually(async () => {
        const p = await profile('phone', callerPhone).catch(() => undefined);
        const ids = new Set(p?.journey.map((j) => j.eventId));
        return p && p.profileId !== caller && callersOwn.every((t) => ids.has(t.eventId)) ? p : undefined;
      }, "the wrong call to merge the caller's profile into the customer's");
      const callerLater = tp(start + 15 * MINUTE, 'app', 'app_open', { phone: callerPhone });
      await send([callerLater]);
      await eventually(settled, 'the caller to be seen again');

      const res = await fetch(`${running.url}/identity/corrections`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: { type: 'phone', value: callerPhone }, reason: 'verified against the wrong customer', agent: 'agent-7' }),
      });
      expect(res.status).toBe(202);
      const { eventId } = (await res.json()) as { eventId: string };

      const callersIds = [...callersOwn, callerLater].map((t) => t.eventId).sort();
      const split = await eventually(async () => {
        const p = await profile('phone', callerPhone).catch(() => undefined);
        return p && p.profileId === caller && p.journey.length >= callersIds.length ? p : undefined;
      }, "the phone to point to the caller's own profile again, with the caller's touchpoints");
      expect(split.journey.map((j) => j.eventId).sort()).toEqual(callersIds);
      await eventually(async () => {
        const c = await profile('customer_id', customer.customer_id);
        return c.profileId === merged.profileId && c.journey.every((j) => j.eventId !== callerLater.eventId && !callersOwn.some((t) => t.eventId === j.eventId));
      }, "the customer's profile without the caller's touchpoints");

      const audit = (await readTopics(kafka, admin, [topics.audit])).get(topics.audit)!;
      const decoder = new OutputDecoder();
      expect(audit.map((r) => decoder.audit(r.value!)).filter((a) => a.kind === 'split')).toEqual([
        expect.objectContaining({ eventId, profileId: merged.profileId, otherProfileId: caller, identifierType: 'phone', detail: expect.stringContaining('verified against the wrong customer') }),
      ]);
    } finally {
      await close();
      await running.stop();
    }
  });
});
