import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackSettings } from '../../local-stack/settings';
import { TcpProxy } from '../../proof/tcp-proxy';
import { Engine } from '../../runtime/kafka/engine';
import { createTopics } from '../../runtime/kafka/kafkajs/topics';
import { countingTopology } from '../support/counting-topology';
import { readToEnd, testKafka, testProducer, uniqueName } from '../support/kafka';
import { TEST_LOGS, testLog } from '../support/logs';
import { eventually } from '../support/processes';

/**
 * An instance started while the broker cannot be reached (a broker restart,
 * a network cut) waits for it and then works, instead of exiting: the proof
 * suite lost both its engines that way (seed 33, a kill just before a broker
 * restart). The broker is reached through a paused proxy for its bootstrap.
 */
jest.setTimeout(120_000);

describe('engine start-up', () => {
  it('waits for an unreachable broker, then consumes', async () => {
    const kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    const appId = uniqueName('start-wait');
    const [input, output] = [uniqueName('start-in'), uniqueName('start-out')];
    const topology = countingTopology(appId, input, output, 2);
    await createTopics(admin, topology);
    const proxy = await new TcpProxy({ targetPort: stackSettings().kafkaPort }).start();
    await proxy.pause();
    const log = testLog(appId);
    const engine = new Engine(topology, {
      kafka: { brokers: [`127.0.0.1:${proxy.port}`] },
      stateDir: await mkdtemp(join(tmpdir(), 'lp-start-')),
      guarantee: 'exactly_once',
      commitIntervalMs: 100,
      maxUncommittedRecords: 1_000,
      cacheEntriesPerStore: 1_000,
      partitionsConsumedConcurrently: 2,
      sessionTimeoutMs: 6_000,
      advertisedEndpoint: 'localhost:0',
      log,
    });
    let started = false;
    const starting = engine.start().then(() => (started = true));
    try {
      // Still waiting after kafkajs's own retries (about 20 s) have run out, where start() used to fail.
      await eventually(async () => (await warnings(join(TEST_LOGS, `${appId}.log`))).some((w) => w.startsWith('waiting for Kafka')), 'a "waiting for Kafka" warning', 60_000);
      expect(started).toBe(false);
      await proxy.resume();
      await starting;
      const producer = testProducer(kafka);
      await producer.connect();
      await producer.send({ topic: input, messages: [{ key: 'k', value: 'v1' }, { key: 'k', value: 'v2' }] });
      await producer.disconnect();
      await eventually(async () => (await readToEnd(kafka, output)).length === 2, 'both counts on the output topic');
    } finally {
      await starting.catch(() => undefined);
      await engine.stop();
      await proxy.close();
      await admin.disconnect();
    }
  });
});

/** Messages the engine has logged at warn level so far (the test log is a file written synchronously). */
async function warnings(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((entry) => entry.level === 40)
    .map((entry) => entry.msg);
}
