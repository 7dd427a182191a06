import { DEFAULT_CONFIG_DIR, touchpointWriter } from '../../cli/app';
import type { Touchpoint } from '../../processors/model/touchpoint';
import type { SegmentMembership } from '../../processors/segmentation/segmentation-processor';
import { goldenRun } from '../../proof/golden';
import { lastValues, readTopics } from '../../proof/live';
import { ConfigResourceTypes } from '../../runtime/kafka/kafkajs/client';
import { OutputDecoder } from '../../replay/records';
import { partitionForKey } from '../../runtime/kafka/partitioner';
import { startProductEngine } from '../support/engine';
import { connectedAdmin, productCaughtUp } from '../support/kafka';
import { eventually } from '../support/processes';
import { identifierKey, MINUTE, tp } from '../support/product';

/**
 * The right to be forgotten, on the real stack: after an erasure_requested
 * touchpoint the person's profile, identifiers, view and segment
 * memberships are gone (tombstones on the compacted topics, exits on
 * segments.membership), the profile API answers 404 by every identifier,
 * the log cleaner leaves nothing of them on the compacted topics, and a
 * replay of the same input ends with no trace of them either.
 */
jest.setTimeout(300_000);

const TOKEN = 'erasure-token';
const calculator = { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: 2, scrollPercent: 90, dwellMs: 60_000 };

describe('erasure on Kafka', () => {
  const { kafka, admin } = connectedAdmin();

  it('forgets a person everywhere: API, stores, views, memberships, compacted topics and a replay', async () => {
    const { appId, topics, app, running } = await startProductEngine('erasure-it', TOKEN);
    const writer = touchpointWriter(app, topics.raw);
    const sent: Touchpoint[] = [];
    const send = async (touchpoints: Touchpoint[]) => {
      sent.push(...touchpoints);
      await writer.send(touchpoints);
    };
    const settled = () => productCaughtUp(admin, appId, topics);
    const api = (type: string, value: string) => fetch(`${running.url}/profiles/by-identifier/${type}/${encodeURIComponent(value)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const person = (n: number) => ({ customer_id: `C-${appId}-${n}`, anonymous_id: `cookie-${appId}-${n}`, email: `p${n}@${appId}.test`, phone: `+35387${2000000 + n}` });
    const [x, y] = [person(1), person(2)];
    const start = Date.now() - 60 * MINUTE;
    try {
      await eventually(async () => (await fetch(`${running.url}/readyz`)).ok, 'the engine to be ready');
      for (const [i, p] of [x, y].entries()) {
        const at = start + i * MINUTE;
        await send([
          tp(at, 'web', 'login', { customer_id: p.customer_id, anonymous_id: p.anonymous_id, email: p.email }, { authenticated: true }),
          tp(at + 1000, 'call_centre', 'call', { customer_id: p.customer_id, phone: p.phone }, { authenticated: true }),
          ...[2, 3, 4].map((s) => tp(at + s * 1000, 'web', 'page_view', { anonymous_id: p.anonymous_id }, { page: calculator })),
        ]);
      }
      await eventually(settled, 'the journeys to be processed');
      const profileOf = async (type: string, value: string) => ((await (await api(type, value)).json()) as { profileId: string; segments: string[] });
      const before = await eventually(async () => {
        const found = await profileOf('phone', x.phone).catch(() => undefined);
        return found?.segments.includes('mortgage_shopper') ? found : undefined;
      }, 'the person to be a mortgage shopper');
      for (const [type, value] of Object.entries(x)) expect((await profileOf(type, value)).profileId).toBe(before.profileId);

      await send([tp(start + 10 * MINUTE, 'call_centre', 'erasure_requested', { customer_id: x.customer_id }, { authenticated: true })]);
      await eventually(settled, 'the erasure to be processed');
      for (const [type, value] of Object.entries(x)) await eventually(async () => (await api(type, value)).status === 404, `a 404 for the erased person's ${type}`);
      expect((await api('phone', y.phone)).status).toBe(200);

      // Every profile id the person had (merged-away ones too) and every identifier key of theirs.
      const live = await readTopics(kafka, admin, [topics.audit, topics.views, topics.membership]);
      const decoder = new OutputDecoder();
      const merges = live.get(topics.audit)!.map((r) => decoder.audit(r.value!)).filter((a) => a.kind === 'merge' && a.profileId === before.profileId);
      const ids = new Set([before.profileId, ...merges.map((m) => m.otherProfileId!)]);
      const keys = Object.entries(x).map(([type, value]) => identifierKey(type, value));
      const views = lastValues(live.get(topics.views)!);
      for (const id of ids) expect(views.has(`${partitionOf(id)}/${id}`)).toBe(false);
      const memberships = live.get(topics.membership)!.map((r) => decoder.membership(r.value!)).filter((m) => ids.has(m.profileId));
      // Per profile and segment, the last change (one profile's changes keep their order on its partition).
      const last = new Map<string, SegmentMembership>();
      for (const m of memberships) last.set(`${m.profileId}/${m.segment}`, m);
      expect([...last.values()].filter((m) => m.change !== 'exit')).toEqual([]);
      expect(last.get(`${before.profileId}/mortgage_shopper`)).toEqual(expect.objectContaining<Partial<SegmentMembership>>({ change: 'exit', reason: 'erasure' }));

      // The log cleaner: the person's keys leave the compacted topics altogether (tombstones too),
      // while other people's traffic rolls the segments it may clean.
      const compacted = [topics.views, `${appId}-profiles-changelog`, `${appId}-identifiers-changelog`, `${appId}-profile-directory-changelog`];
      await admin.alterConfigs({
        validateOnly: false,
        resources: compacted.map((name) => ({
          type: ConfigResourceTypes.TOPIC,
          name,
          // AlterConfigs replaces a topic's whole configuration: restate what it had.
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'message.timestamp.after.max.ms', value: '9223372036854775807' },
            { name: 'segment.ms', value: '500' },
            { name: 'min.cleanable.dirty.ratio', value: '0.001' },
            { name: 'delete.retention.ms', value: '0' },
          ],
        })),
      });
      let filler = 0;
      await eventually(
        async () => {
          const others = Array.from({ length: 8 }, () => person(1000 + filler++));
          await send(others.map((p, i) => tp(start + 20 * MINUTE + filler * 10 + i, 'web', 'login', { customer_id: p.customer_id, anonymous_id: p.anonymous_id }, { authenticated: true })));
          const now = await readTopics(kafka, admin, compacted);
          return [...now.values()].flat().every((r) => !ids.has(r.key?.toString() ?? '') && !keys.includes(r.key?.toString() ?? ''));
        },
        'the log cleaner to remove every record of the erased person from the compacted topics',
        180_000,
        2_000,
      );
    } finally {
      await writer.close();
      await running.stop();
    }

    // A replay of the same input (erasure included) ends with no trace of the person.
    const replayed = await goldenRun(sent, 4, DEFAULT_CONFIG_DIR);
    const xKeys = Object.entries(x).map(([type, value]) => identifierKey(type, value));
    expect(replayed.clusters.some((c) => xKeys.some((k) => c.includes(k)))).toBe(false);
    expect(replayed.clusters.some((c) => c.includes(identifierKey('customer_id', y.customer_id)))).toBe(true);
  });
});

function partitionOf(profileId: string): number {
  return partitionForKey(Buffer.from(profileId), 4);
}
