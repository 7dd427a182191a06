import type { Message, Producer } from 'kafkajs';
import { Feed, type Pacing } from '../../../demo/feed';
import type { AvroSerde } from '../../../runtime/serde/avro-serde';
import { eventually } from '../../../runtime/retry';
import { TouchpointGenerator } from '../../../simulator/generator';
import { createPopulation } from '../../../simulator/population';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { DAY, personasModel } from '../simulator/support';

const HOUR = 3_600_000;

/**
 * The feed's pacing against an engine whose progress the test sets: the
 * producer and serde only record what the feed sent (the feed's Kafka side
 * is covered by the demo's integration test).
 */
function harness(aheadMs: number | null) {
  const generator = new TouchpointGenerator(createPopulation({ seed: 4, people: 40, model: personasModel() }), { days: 3 });
  const sentAt: number[] = [];
  const engine = { processed: 0, asksSinceSend: 0 };
  const producer = {
    send: async ({ messages }: { messages: Message[] }) => {
      for (const m of messages) sentAt.push(Number((m.value as Buffer).toString()));
      engine.asksSinceSend = 0;
      return [];
    },
  } as unknown as Producer;
  const serde = { serialize: (_topic: string, t: Touchpoint) => Buffer.from(String(t.occurredAt)) } as unknown as AvroSerde<Touchpoint>;
  const pacing: Pacing = {
    aheadMs,
    processed: async () => {
      engine.asksSinceSend++;
      return engine.processed;
    },
  };
  const feed = new Feed(generator, producer, serde, 'raw', Infinity, pacing);
  /** The feed asked the engine's progress a few times without sending: it waits for the engine. */
  const waiting = () => eventually(async () => engine.asksSinceSend >= 3, 'the feed to wait for the engine', 10_000, 20);
  return { generator, feed, engine, sentAt, waiting };
}

describe('the demo feed', () => {
  it('paced: sends nothing past what the engine has processed plus the allowance, and goes on as the engine catches up', async () => {
    const { generator, feed, engine, sentAt, waiting } = harness(HOUR);
    feed.start();
    await waiting();
    expect(sentAt.length).toBeGreaterThan(0);
    expect(Math.max(...sentAt)).toBeLessThanOrEqual(generator.start + HOUR);
    expect(feed.drained).toBe(false);

    // The engine has committed the first request only: the limit moves to that request's last touchpoint plus the allowance.
    const first = sentAt.length;
    engine.processed = first;
    engine.asksSinceSend = 0;
    await waiting();
    expect(sentAt.length).toBeGreaterThanOrEqual(first);
    expect(Math.max(...sentAt)).toBeLessThanOrEqual(feed.processedUntil + HOUR);
    expect(feed.processedUntil).toBeGreaterThan(generator.start);

    // Once the engine keeps up, the whole period goes through, in event-time order.
    engine.processed = Number.MAX_SAFE_INTEGER;
    await eventually(async () => feed.drained, 'the period to be sent', 30_000, 20);
    await feed.stop();
    expect(Math.max(...sentAt)).toBeGreaterThan(generator.start + 2 * DAY);
    expect(sentAt).toEqual([...sentAt].sort((a, b) => a - b));
    await feed.measure();
    expect(feed.processedUntil).toBe(feed.sentUntil);
  });

  it('crosses a quiet spell longer than the allowance once the engine has processed everything sent', async () => {
    const { feed, engine, sentAt } = harness(1);
    engine.processed = Number.MAX_SAFE_INTEGER;
    feed.start();
    await eventually(async () => feed.drained, 'the period to be sent', 30_000, 20);
    await feed.stop();
    const gaps = sentAt.slice(1).map((at, i) => at - sentAt[i]!);
    expect(Math.max(...gaps)).toBeGreaterThan(1);
  });

  it('unpaced: sends the whole period without the engine, and says how far behind the engine is', async () => {
    const { generator, feed, sentAt } = harness(null);
    feed.start();
    await eventually(async () => feed.drained, 'the period to be sent', 30_000, 20);
    await feed.stop();
    await feed.measure();
    expect(sentAt.length).toBe(generator.stats.touchpoints);
    expect(feed.processedUntil).toBe(generator.start);
    expect(feed.sentUntil).toBe(Math.max(...sentAt));
  });
});
