import { Kafka } from '../../runtime/kafka/kafkajs/client';
import { restart, status, up } from '../../local-stack/stack';
import { createTopics, messageCount, readToEnd, testKafka, testProducer, uniqueName } from '../support/kafka';

/**
 * `restart('kafka')` for fault-injection tests: the broker goes away and
 * comes back with its data. Every record it acknowledged before the restart
 * is read back afterwards, and a producer can write again.
 *
 * This stops the shared local broker for a few seconds: anything else using
 * it meanwhile sees the outage. The broker is running again when the test
 * ends, whatever happens.
 */
jest.setTimeout(180_000);

const RECORDS = 500;

describe('local stack restart', () => {
  let kafka: Kafka;

  beforeAll(() => {
    kafka = testKafka('listening-post-restart-test');
  });

  afterAll(async () => {
    // The broker is shared: never leave it stopped, even after a failure.
    await up();
  });

  it('keeps every acknowledged record across a Kafka restart, and a producer can write again', async () => {
    const topic = uniqueName('restart');
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [topic]);
    await admin.disconnect();

    const before = Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i % 37}`, value: `before-${i}` }));
    const producer = testProducer(kafka);
    await producer.connect();
    // acks=-1 (the default): each record is acknowledged once it is in the broker's log.
    await producer.send({ topic, messages: before });
    await producer.disconnect();

    const kafkaBefore = (await status()).find((s) => s.name === 'kafka')!;
    expect(kafkaBefore.state).toBe('running');
    const restarted = await restart('kafka');
    expect(restarted.wasRunning).toBe(true);
    expect(restarted.pid).not.toBe(kafkaBefore.pid);
    // Also on stderr, so that a run shows how long a restart takes here.
    process.stderr.write(`kafka restart: stopped in ${restarted.stopMs} ms, ready ${restarted.startMs} ms after launch\n`);

    const read = await readToEnd(kafka, topic);
    expect(read.map((m) => m.value!.toString()).sort()).toEqual(before.map((m) => m.value).sort());

    const again = testProducer(kafka);
    await again.connect();
    await again.send({ topic, messages: [{ key: 'after', value: 'after-restart' }] });
    await again.disconnect();
    const verify = kafka.admin();
    await verify.connect();
    expect(await messageCount(verify, topic)).toBe(RECORDS + 1);
    await verify.disconnect();
    const all = await readToEnd(kafka, topic);
    expect(all.map((m) => m.value!.toString())).toContain('after-restart');
  });
});
