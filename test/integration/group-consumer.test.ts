import pino from 'pino';
import { stackEndpoints } from '../../local-stack/settings';
import type { GroupConsumer, GroupConsumerHandlers } from '../../runtime/kafka/adapter';
import { kafkajsClient } from '../../runtime/kafka/kafkajs';
import { taskAssignor } from '../../runtime/kafka/task-assignment';
import { connectedAdmin, createTopics, testProducer, uniqueName } from '../support/kafka';
import { eventually } from '../support/processes';

/**
 * The adapter's rebalance guarantee on a real broker: a member's
 * `onRevoke` is awaited before it rejoins, so a member that joins gets no
 * partition before the current owner has finished giving its partitions up
 * (Kafka Streams' onPartitionsRevoked; kafkajs has no such listener of its
 * own), and `onAssignment` is awaited before batches of the new assignment
 * are handled.
 */
jest.setTimeout(120_000);

const { kafka, admin } = connectedAdmin();

test('a joining member gets partitions only after the owner has given them up, and batches only after its assignment is handled', async () => {
  const topic = uniqueName('group-rebalance');
  await createTopics(admin, [topic], 4);
  const producer = testProducer(kafka);
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await producer.disconnect();
  const groupId = uniqueName('group-rebalance-app');
  const client = kafkajsClient('group-consumer-test', { brokers: stackEndpoints().brokers }, pino({ level: 'silent' }));
  const events: string[] = [];
  const batches = { a: 0, b: 0 };
  const member = (name: string): { consumer: GroupConsumer; handlers: GroupConsumerHandlers; owned: () => number } => {
    let owned = 0;
    let assignmentDone = false;
    const consumer = client.groupConsumer({
      groupId,
      topics: [topic],
      assignor: taskAssignor([{ id: 0, topics: [topic] }], () => ({ endpoint: name, tasks: [] })),
      sessionTimeoutMs: 6_000,
      partitionsConsumedConcurrently: 1,
    });
    const handlers: GroupConsumerHandlers = {
      onBatch: async (batch) => {
        if (!assignmentDone) events.push(`${name}: batch before its assignment was handled`);
        batches[name as 'a' | 'b']++;
        batch.consumed(batch.nextOffset - 1n);
      },
      onRevoke: async () => {
        if (owned === 0) return;
        events.push(`${name}: giving up ${owned} partitions`);
        // An owner's commits take a while; the group must wait for them.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        events.push(`${name}: gave them up`);
      },
      onAssignment: async (assignment) => {
        assignmentDone = false;
        owned = (assignment[topic] ?? []).length;
        events.push(`${name}: assigned ${owned}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        assignmentDone = true;
      },
      onSkipped: () => undefined,
      onCrash: (error) => events.push(`${name}: crashed ${error.message}`),
    };
    return { consumer, handlers, owned: () => owned };
  };

  const a = member('a');
  await a.consumer.connect();
  await a.consumer.run(a.handlers);
  await eventually(async () => a.owned() === 4, 'the first member to own every partition');
  const b = member('b');
  await b.consumer.connect();
  await b.consumer.run(b.handlers);
  try {
    await eventually(async () => b.owned() > 0 && a.owned() > 0 && batches.b > 0, 'the partitions to be shared, and the new member reading its own', 60_000);
    expect(batches.a).toBeGreaterThan(0);
    const gaveUp = events.indexOf('a: gave them up');
    const bAssigned = events.findIndex((e) => e.startsWith('b: assigned') && e !== 'b: assigned 0');
    expect(events.indexOf('a: giving up 4 partitions')).toBeGreaterThanOrEqual(0);
    expect(gaveUp).toBeGreaterThan(events.indexOf('a: giving up 4 partitions'));
    expect(bAssigned).toBeGreaterThan(gaveUp);
    expect(events.filter((e) => e.includes('before its assignment') || e.includes('crashed'))).toEqual([]);
  } finally {
    await b.consumer.stop();
    await b.consumer.disconnect();
    await a.consumer.stop();
    await a.consumer.disconnect();
  }
});
