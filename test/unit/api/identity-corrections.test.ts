import { CORRECTIONS_CHANNEL, identityCorrectionsApi } from '../../../api/identity-corrections';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { testHttpServer } from '../../support/http';

/** POST /identity/corrections on a real HTTP server: what it writes to touchpoints.raw, and what it refuses. */
const TOKEN = 'corrections-token';
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

describe('the identity corrections API', () => {
  const written: Touchpoint[] = [];
  let failWith: Error | undefined;
  let url = '';
  const server = testHttpServer([
    identityCorrectionsApi({
      token: TOKEN,
      now: () => NOW,
      submit: async (t) => {
        if (failWith) throw failWith;
        written.push(t);
      },
    }),
  ]);
  const post = (body: unknown, token = TOKEN) =>
    fetch(`${url}/identity/corrections`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    const address = await server.start();
    url = `http://${address.address}:${address.port}`;
  });
  afterAll(() => server.stop());

  it('writes an authenticated identity_correction from its own channel and answers 202 with the event id to look for on identity.audit', async () => {
    const res = await post({ identifier: { type: 'phone', value: '087 100 0000' }, reason: 'wrong caller verified', agent: 'agent-17' });
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { eventId: string; channel: string; outcome: string };
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      eventId: answer.eventId,
      occurredAt: NOW,
      channel: CORRECTIONS_CHANNEL,
      eventType: 'identity_correction',
      authenticated: true,
      identifiers: [{ type: 'phone', value: '087 100 0000' }],
      attributes: { reason: 'wrong caller verified', agent: 'agent-17' },
    });
    expect(answer.eventId).toMatch(/^correction-[0-9a-f-]{36}$/);
    expect(answer.outcome).toContain(answer.eventId);
  });

  it('refuses a request without the token, and one without a reason or identifier, naming what is missing', async () => {
    const before = written.length;
    expect((await post({ identifier: { type: 'phone', value: '1' }, reason: 'x' }, 'wrong')).status).toBe(401);
    const noReason = await post({ identifier: { type: 'phone', value: '1' } });
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as { error: string }).error).toMatch(/reason/);
    const noValue = await post({ identifier: { type: 'phone' }, reason: 'x' });
    expect(noValue.status).toBe(400);
    expect(((await noValue.json()) as { error: string }).error).toMatch(/value/);
    expect(written.length).toBe(before);
  });

  it('answers 503 with the cause when Kafka does not take the correction', async () => {
    failWith = new Error('broker unreachable');
    try {
      const res = await post({ identifier: { type: 'email', value: 'a@example.com' }, reason: 'x' });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toBe('the correction could not be written to Kafka: broker unreachable');
    } finally {
      failWith = undefined;
    }
  });
});
