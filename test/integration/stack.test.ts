import * as avro from 'avsc';
import { Kafka } from '../../runtime/kafka/kafkajs/client';
import { stackEndpoints } from '../../local-stack/settings';
import { AvroSerde } from '../../runtime/serde/avro-serde';
import { ConfluentRegistry } from '../../runtime/serde/registry';
import { createTopics, readToEnd, testKafka, testProducer, uniqueName } from '../support/kafka';

/**
 * The foundation, end to end on the real local stack: Avro through the
 * registry in the Confluent wire format, a consumer group with eachBatch,
 * and a transactional consume -> produce step whose output a read_committed
 * reader sees exactly once, while an aborted transaction's record is never seen.
 */
jest.setTimeout(120_000);

interface Greeting {
  id: string;
  text: string;
}

const greetingType = avro.Type.forSchema({
  type: 'record',
  name: 'Greeting',
  namespace: 'dev.listeningpost.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'text', type: 'string' },
  ],
});

describe('local stack', () => {
  let kafka: Kafka;

  beforeAll(() => {
    kafka = testKafka();
  });

  it('registers a schema, round-trips Avro through Kafka and commits consume->produce exactly once', async () => {
    const input = uniqueName('stack-in');
    const output = uniqueName('stack-out');
    const groupId = uniqueName('stack-group');
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [input, output]);
    await admin.disconnect();

    const registry = new ConfluentRegistry(stackEndpoints().registryUrl);
    const serde = new AvroSerde<Greeting>(registry, greetingType);
    await serde.init(input);
    await serde.init(output);

    const sent: Greeting[] = Array.from({ length: 20 }, (_, i) => ({ id: `g${i}`, text: `hello ${i}` }));
    const producer = testProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: sent.map((g) => ({ key: g.id, value: serde.serialize(input, g) })) });
    await producer.disconnect();

    const transactional = kafka.producer({ transactionalId: uniqueName('stack-tx'), idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    let copied = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            await serde.prepare(input, batch.messages.map((m) => m.value));
            const values = batch.messages.map((m) => serde.deserialize(input, m.value!));
            const tx = await transactional.transaction();
            try {
              await tx.send({
                topic: output,
                messages: values.map((g) => ({ key: g.id, value: serde.serialize(output, { ...g, text: g.text.toUpperCase() }) })),
              });
              await tx.sendOffsets({
                consumerGroupId: groupId,
                topics: [{ topic: input, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }],
              });
              await tx.commit();
            } catch (error) {
              await tx.abort();
              throw error;
            }
            copied += values.length;
            // At least: a duplicate would be caught by the exact checks below instead of hanging here.
            if (copied >= sent.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    const aborted = await transactional.transaction();
    await aborted.send({ topic: output, messages: [{ key: 'aborted', value: serde.serialize(output, { id: 'aborted', text: 'never seen' }) }] });
    await aborted.abort();
    await transactional.disconnect();

    const committedOffsets = await (async () => {
      const a = kafka.admin();
      await a.connect();
      const [offsets] = await a.fetchOffsets({ groupId, topics: [input] });
      await a.disconnect();
      return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    })();
    expect(committedOffsets).toBe(sent.length);

    const read = await readToEnd(kafka, output);
    await serde.prepare(output, read.map((m) => m.value));
    const received = read.map((m) => serde.deserialize(output, m.value!));
    expect(received.map((g) => g.id).sort()).toEqual(sent.map((g) => g.id).sort());
    expect(received.every((g) => g.text === g.text.toUpperCase())).toBe(true);
    expect(received.find((g) => g.id === 'aborted')).toBeUndefined();
    expect(read[0]!.value!.readUInt8(0)).toBe(0);
  });

  it('answers a record with an unknown schema id as unknown-schema, not a crash', async () => {
    const registry = new ConfluentRegistry(stackEndpoints().registryUrl);
    const serde = new AvroSerde<Greeting>(registry, greetingType);
    const bogus = Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2, 3]);
    await serde.prepare('any', [bogus]);
    expect(() => serde.deserialize('any', bogus)).toThrow(expect.objectContaining({ kind: 'unknown-schema' }));
  });
});
