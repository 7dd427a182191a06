import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackEndpoints } from '../../local-stack/settings';
import { Engine } from '../../runtime/kafka/engine';
import { createTopics } from '../../runtime/kafka/kafkajs/topics';
import type { Processor, ProcessorContext, StreamRecord, Timer } from '../../runtime/processor';
import { jsonSerde, stringSerde } from '../../runtime/serde/serde';
import { TopologyBuilder } from '../../runtime/topology';
import { connectedAdmin, readToEnd, testProducer, uniqueName } from '../support/kafka';
import { testLog } from '../support/logs';
import { eventually } from '../support/processes';

/**
 * The live engine's two clocks (runtime/README.md, "Time"): wall-clock
 * punctuation fires an idle task's due timers, but stream time moves only
 * with records, so a record after the punctuation is judged against the
 * event time of the records before it, not against the wall clock.
 */
jest.setTimeout(120_000);

const T0 = Date.UTC(2026, 0, 1);
const DEADLINE_MS = 1_500;

interface Seen {
  kind: 'record' | 'timer';
  key: string;
  streamTime: number;
  at?: number;
}

/** Reports the time it sees for each record, and sets a deadline DEADLINE_MS of event time after it. */
class ClockProcessor implements Processor<string, string> {
  process(record: StreamRecord<string, string>, ctx: ProcessorContext): void {
    ctx.forward('seen', record.key, { kind: 'record', key: record.key, streamTime: ctx.streamTime } satisfies Seen);
    ctx.schedule(record.timestamp + DEADLINE_MS, record.key);
  }

  onTimer(timer: Timer, ctx: ProcessorContext): void {
    ctx.forward('seen', timer.key, { kind: 'timer', key: timer.key, at: timer.at, streamTime: ctx.streamTime } satisfies Seen);
  }
}

describe('wall-clock punctuation', () => {
  const { kafka, admin } = connectedAdmin();

  it('fires a due timer of an idle task without moving its stream time', async () => {
    const appId = uniqueName('clock');
    const input = `${appId}.in`;
    const output = `${appId}.seen`;
    const topology = new TopologyBuilder(appId, 1)
      .topic({ name: input, doc: 'records' })
      .topic({ name: output, doc: 'the time each record and timer saw' })
      .source('in', { topic: input, key: stringSerde, value: stringSerde })
      .processor('clock', () => new ClockProcessor(), { from: 'in', outputs: ['seen'] })
      .sink('seen', { topic: output, key: stringSerde, value: jsonSerde<Seen>(), from: 'clock' })
      .build();
    await createTopics(admin, topology, undefined, { keepForever: true });
    const engine = new Engine(topology, {
      kafka: { brokers: stackEndpoints().brokers },
      stateDir: await mkdtemp(join(tmpdir(), 'lp-clock-')),
      guarantee: 'exactly_once',
      commitIntervalMs: 100,
      maxUncommittedRecords: 1_000,
      cacheEntriesPerStore: 1_000,
      partitionsConsumedConcurrently: 1,
      wallClockPunctuation: true,
      advertisedEndpoint: 'localhost:0',
      log: testLog(appId),
    });
    const producer = testProducer(kafka);
    await producer.connect();
    const seen = async () => (await readToEnd(kafka, output)).map((m) => JSON.parse(m.value!.toString()) as Seen);
    try {
      await engine.start();
      await producer.send({ topic: input, messages: [{ key: 'a', value: 'x', timestamp: String(T0) }] });
      const timer = await eventually(async () => (await seen()).find((s) => s.kind === 'timer'), "a's deadline fired by the wall clock");
      expect(timer).toMatchObject({ key: 'a', at: T0 + DEADLINE_MS });
      expect(timer.streamTime).toBeGreaterThanOrEqual(T0 + DEADLINE_MS);

      await producer.send({ topic: input, messages: [{ key: 'b', value: 'x', timestamp: String(T0 + 10) }] });
      const b = await eventually(async () => (await seen()).find((s) => s.kind === 'record' && s.key === 'b'), 'the record of b processed');
      expect(b.streamTime).toBe(T0 + 10);
    } finally {
      await producer.disconnect();
      await engine.stop();
    }
  });
});
