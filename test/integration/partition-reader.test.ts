import { KafkajsPartitionReader } from '../../runtime/kafka/kafkajs/partition-reader';
import { connectedAdmin, createTopics, uniqueName } from '../support/kafka';

/**
 * A followed partition that never rests (a global table under a busy link
 * task: a transaction committed every few milliseconds) must still report
 * that the reader stands at its end, or readiness says "catching up" for as
 * long as the engine is busy (issue 14 §4): every fetch that reaches the
 * last stable offset counts, not only an empty one.
 */
jest.setTimeout(60_000);

const { kafka, admin } = connectedAdmin();

test('reports standing at the end while a transactional writer keeps committing', async () => {
  const topic = uniqueName('reader-busy');
  await createTopics(admin, [topic], 1);
  const producer = kafka.producer({ transactionalId: uniqueName('reader-busy-tx'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const reader = new KafkajsPartitionReader(kafka);
  await reader.connect();
  let stopped = false;
  let read = 0;
  const caughtUpAt: number[] = [];
  const following = reader.follow({
    topic,
    partition: 0,
    from: 0n,
    maxWaitMs: 500,
    stopped: () => stopped,
    onCaughtUp: () => caughtUpAt.push(read),
    onRecords: async (records) => {
      read += records.length;
    },
  });
  try {
    // The writer never pauses long enough for a fetch to come back empty: counts of records read
    // when the reader said it stood at the end must show it said so while they kept coming.
    for (let i = 0; i < 400; i++) {
      const tx = await producer.transaction();
      await tx.send({ topic, messages: [{ key: `k${i % 7}`, value: `v${i}` }] });
      await tx.commit();
    }
  } finally {
    stopped = true;
    await following;
    await reader.disconnect();
    await producer.disconnect();
  }
  expect(read).toBe(400);
  const whileWriting = caughtUpAt.filter((n) => n > 0 && n < 400);
  expect(whileWriting.length).toBeGreaterThan(0);
});
