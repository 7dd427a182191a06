import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { stackEndpoints } from '../../local-stack/settings';
import type { Touchpoint } from '../../processors/model/touchpoint';
import { AvroSerde } from '../../runtime/serde/avro-serde';
import { SchemaCatalog } from '../../runtime/serde/schema-catalog';
import { SCHEMAS_DIR } from '../../topology';
import { startProductEngine } from '../support/engine';
import { caughtUp, connectedAdmin, productCaughtUp, readToEnd, testProducer, uniqueName } from '../support/kafka';
import { eventually } from '../support/processes';
import { DAY, HOUR, MINUTE, tp } from '../support/product';

/**
 * The product end to end on the real stack: journeys produced to
 * touchpoints.raw yield exactly one command each on engagement.commands,
 * which a plain kafkajs consumer decodes with the registry; the profile is
 * visible through the profile API by an identifier from another channel.
 */
jest.setTimeout(180_000);

const PEOPLE = 8;
const TOKEN = 'integration-token';

describe('engagement on Kafka', () => {
  const { kafka, admin } = connectedAdmin();

  it('sends one command per mortgage shopper, decodable by any consumer, and serves the profile', async () => {
    const { appId, topics, app, running } = await startProductEngine('engage-it', TOKEN);
    const base = running.url;
    try {
      await eventually(async () => (await fetch(`${base}/readyz`)).ok, 'the engine to be ready');

      const serde = new AvroSerde<Touchpoint>(app.registry, SchemaCatalog.load(SCHEMAS_DIR).type('Touchpoint'));
      await serde.init(topics.raw);
      const producer = testProducer(kafka);
      await producer.connect();
      const send = (t: Touchpoint, key: string) => producer.send({ topic: topics.raw, messages: [{ key, value: serde.serialize(topics.raw, t) }] });
      // Event times at midday UTC (the last one before now), not at the wall clock: the rules keep
      // quiet hours (21:00-08:00, Europe/Dublin), and a run in the evening had every command refused.
      const noon = Math.floor(Date.now() / DAY) * DAY + 12 * HOUR;
      const now = (noon <= Date.now() ? noon : noon - DAY) - 10 * MINUTE;
      const calculator = { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: 2, scrollPercent: 90, dwellMs: 60_000 };
      const lastViewSentAt = new Map<string, number>();
      const lastViewIds: string[] = [];
      for (let p = 0; p < PEOPLE; p++) {
        const cookie = `cookie-${appId}-${p}`;
        await send(tp(now, 'web', 'login', { customer_id: `C-${appId}-${p}`, anonymous_id: cookie, email: `p${p}@${appId}.test` }, { authenticated: true }), cookie);
        await send(tp(now + 1000, 'call_centre', 'call', { customer_id: `C-${appId}-${p}`, phone: `+35387${String(1000000 + p)}` }, { authenticated: true }), `C-${p}`);
        await send(tp(now + 2000, 'web', 'consent_updated', { anonymous_id: cookie }, { consent: { channel: '*', purpose: 'marketing', granted: true } }), cookie);
      }
      // The identity links are decided, and the merged profiles have received the state of the profiles
      // they absorbed (consent included: state transfers go through touchpoints.resolved), before the
      // browsing. Without the last condition a page view can reach the surviving profile before the
      // consent of the cookie's profile does, and the command is rightly refused for no consent.
      await eventually(
        () => productCaughtUp(admin, appId, topics),
        'the logins and calls to be linked and merged',
      );
      for (let p = 0; p < PEOPLE; p++) {
        const cookie = `cookie-${appId}-${p}`;
        for (let v = 0; v < 3; v++) {
          const view = tp(now + 10 * MINUTE - 1000 + v * 100, 'web', 'page_view', { anonymous_id: cookie }, { page: calculator });
          await send(view, cookie);
          if (v === 2) {
            lastViewSentAt.set(view.eventId, Date.now());
            lastViewIds.push(view.eventId);
          }
        }
      }
      await producer.disconnect();

      // A plain kafkajs consumer with the registry's own client decodes the commands (and the decisions:
      // a share of people is held out as the trigger's control group and gets a held_out decision instead).
      const registry = new SchemaRegistry({ host: stackEndpoints().registryUrl });
      const consumer = kafka.consumer({ groupId: uniqueName('command-reader') });
      await consumer.connect();
      await consumer.subscribe({ topics: [topics.commands, topics.decisions], fromBeginning: true });
      const commands: { triggerId: string; profileId: string; commandId: string; trace: { causeEventIds: string[] } }[] = [];
      const heldOut: string[] = [];
      const latencies: number[] = [];
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          const value = await registry.decode(message.value!);
          if (value.triggerId !== 'mortgage_calculator_repeat') return;
          if (topic === topics.decisions) {
            if (value.outcome === 'held_out') heldOut.push(value.profileId);
            return;
          }
          commands.push(value);
          const cause = value.trace.causeEventIds.at(-1);
          if (lastViewSentAt.has(cause)) latencies.push(Date.now() - lastViewSentAt.get(cause)!);
        },
      });
      await eventually(async () => commands.length + heldOut.length >= PEOPLE, `a command or a hold-out for each of ${PEOPLE} people`);
      // Exactly one: once every raw touchpoint and profile event is committed, nothing more arrives.
      await eventually(async () => (await caughtUp(admin, appId, topics.raw)) && (await caughtUp(admin, appId, topics.resolved)), 'every touchpoint and profile event committed');
      await consumer.disconnect();
      const everything = await readToEnd(kafka, topics.commands);
      expect(everything).toHaveLength(commands.length);
      expect(commands.length).toBeGreaterThan(0);
      expect(commands.length + heldOut.length).toBe(PEOPLE);
      expect(new Set([...commands.map((c) => c.profileId), ...heldOut]).size).toBe(PEOPLE);
      expect(new Set(commands.map((c) => c.commandId)).size).toBe(commands.length);
      latencies.sort((a, b) => a - b);
      process.stderr.write(`produce -> command readable, ms: median ${latencies[Math.floor(latencies.length / 2)]}, all ${latencies.join(', ')}\n`);

      // The profile, looked up by the phone number the call centre knows, holds the web journey.
      const started = Date.now();
      const profile = await eventually(async () => {
        const response = await fetch(`${base}/profiles/by-identifier/phone/${encodeURIComponent('087 100 0000')}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        if (!response.ok) return undefined;
        const body = (await response.json()) as { journey: { eventId: string }[]; segments: string[]; known: boolean };
        return body.journey.some((j) => j.eventId === lastViewIds[0]) ? body : undefined;
      }, 'the profile API to show the journey');
      process.stderr.write(`profile visible through the API ${Date.now() - started} ms after the commands were read\n`);
      expect(profile.known).toBe(true);
      expect(profile.segments).toContain('mortgage_shopper');
      expect((await fetch(`${base}/profiles/by-identifier/phone/${encodeURIComponent('087 100 0000')}`)).status).toBe(401);
    } finally {
      await running.stop();
    }
  });
});
