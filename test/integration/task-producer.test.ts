import { connectTaskProducer } from '../../runtime/kafka/task-producer';
import { connectedAdmin, createTopics, readToEnd, uniqueName } from '../support/kafka';

/**
 * A new owner of a task must settle the previous owner's transaction before
 * it reads the changelog and the committed offsets: the task producer is
 * ready only once the old producer is fenced and its open transaction is
 * over. kafkajs's own connect() left both for the first commit.
 */
jest.setTimeout(60_000);

const { kafka, admin } = connectedAdmin();

test('connecting a task producer fences the previous owner and aborts its open transaction', async () => {
  const topic = uniqueName('task-producer');
  await createTopics(admin, [topic], 1);
  const transactionalId = uniqueName('task');
  const previous = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await previous.connect();
  const open = await previous.transaction();
  await open.send({ topic, messages: [{ key: 'k', value: 'written by the previous owner' }] });

  const next = await connectTaskProducer(kafka, transactionalId);
  try {
    await expect(open.commit()).rejects.toMatchObject({ type: expect.stringMatching(/PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/) });
    const transaction = await next.transaction();
    await transaction.send({ topic, messages: [{ key: 'k', value: 'written by the new owner' }] });
    await transaction.commit();
    const read = await readToEnd(kafka, topic);
    expect(read.map((m) => m.value!.toString())).toEqual(['written by the new owner']);
  } finally {
    await previous.disconnect();
    await next.disconnect();
  }
});

test('without a transactional id the producer is idempotent and needs no transaction', async () => {
  const topic = uniqueName('task-producer-alo');
  await createTopics(admin, [topic], 1);
  const producer = await connectTaskProducer(kafka, undefined);
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: 'at least once' }] });
    expect((await readToEnd(kafka, topic)).map((m) => m.value!.toString())).toEqual(['at least once']);
  } finally {
    await producer.disconnect();
  }
});
