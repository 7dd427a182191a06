import { stackEndpoints } from '../../local-stack/settings';
import type { TaskProducer, TaskProducerOptions } from '../../runtime/kafka/adapter';
import { KafkaError } from '../../runtime/kafka/kafka-errors';
import { connectTaskProducer as kafkajsTaskProducer } from '../../runtime/kafka/kafkajs/task-producer';
import { PRODUCE_LIMITS } from '../../runtime/kafka/produce-chunks';
import { connectTaskProducer as platformaticTaskProducer } from '../../runtime/kafka/platformatic/task-producer';
import type { OutputRecord } from '../../runtime/records';
import { connectedAdmin, createTopics, readToEnd, uniqueName } from '../support/kafka';
import { eventually } from '../support/processes';

/**
 * A task's producer on the real broker, on each client the engine can use
 * for it. A new owner of a task must settle the previous owner's
 * transaction before it reads the changelog and the committed offsets: the
 * producer is ready only once the old one is fenced and its open
 * transaction is over (kafkajs's own connect() left both for the first
 * commit).
 */
jest.setTimeout(60_000);

const { kafka, admin } = connectedAdmin();

const CLIENTS: [string, (options: TaskProducerOptions) => Promise<TaskProducer>][] = [
  ['kafkajs', (options) => kafkajsTaskProducer(kafka, options)],
  ['@platformatic/kafka', (options) => platformaticTaskProducer('listening-post-test', { brokers: stackEndpoints().brokers }, options)],
];

function record(topic: string, value: string): OutputRecord {
  return { topic, partition: 0, key: Buffer.from('k'), value: Buffer.from(value), headers: {}, timestamp: Date.now() };
}

/**
 * EndTxn returns once the coordinator has logged the outcome; the markers
 * reach the partitions after it. A read-committed reader sees the
 * transaction only once the last stable offset has passed it.
 */
async function stableThrough(topic: string, offset: bigint): Promise<void> {
  await eventually(async () => BigInt((await admin.fetchTopicOffsets(topic))[0]!.high) > offset, `${topic}'s last stable offset past ${offset}`);
}

async function committedOffset(groupId: string, topic: string): Promise<string | undefined> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return entry?.partitions.find((p) => p.partition === 0)?.offset;
}

describe.each(CLIENTS)('on %s', (_client, connectTaskProducer) => {
  test('connecting fences the previous owner and aborts its open transaction; a commit writes records and offsets at once', async () => {
    const [input, output] = [uniqueName('task-producer-in'), uniqueName('task-producer-out')];
    await createTopics(admin, [input, output], 1);
    const transactionalId = uniqueName('task');
    const groupId = uniqueName('task-group');
    const previous = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await previous.connect();
    const open = await previous.transaction();
    await open.send({ topic: output, messages: [{ key: 'k', value: 'written by the previous owner' }] });

    const next = await connectTaskProducer({ guarantee: 'exactly_once', transactionalId, groupId });
    try {
      await expect(open.commit()).rejects.toMatchObject({ type: expect.stringMatching(/PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/) });
      const checkpoint = await next.commit({ records: [record(output, 'written by the new owner')], partition: 0, offsets: new Map([[input, 42n]]) });
      await stableThrough(output, 2n);
      expect((await readToEnd(kafka, output)).map((m) => m.value!.toString())).toEqual(['written by the new owner']);
      expect(checkpoint.get(output)).toBe(3n); // the aborted record, its abort marker, then ours at offset 2
      expect(await committedOffset(groupId, input)).toBe('42');
    } finally {
      await previous.disconnect();
      await next.close();
    }
  });

  test('a fenced task producer fails its commit with a KafkaError of kind fenced', async () => {
    const output = uniqueName('task-producer-fenced');
    await createTopics(admin, [output], 1);
    const options = { guarantee: 'exactly_once', transactionalId: uniqueName('task'), groupId: uniqueName('task-group') } as const;
    const zombie = await connectTaskProducer(options);
    const owner = await connectTaskProducer(options);
    try {
      const failure = zombie.commit({ records: [record(output, 'from the zombie')], partition: 0, offsets: new Map() });
      await expect(failure).rejects.toBeInstanceOf(KafkaError);
      await expect(failure).rejects.toMatchObject({ kind: 'fenced', retriable: false });
      expect(await readToEnd(kafka, output)).toEqual([]);
    } finally {
      await zombie.close();
      await owner.close();
    }
  });

  test('at-least-once: records are written, then the offsets through the given commit', async () => {
    const output = uniqueName('task-producer-alo');
    await createTopics(admin, [output], 1);
    const committed: unknown[] = [];
    const producer = await connectTaskProducer({ guarantee: 'at_least_once', commitOffsets: async (offsets) => void committed.push(...offsets) });
    try {
      const checkpoint = await producer.commit({ records: [record(output, 'at least once')], partition: 0, offsets: new Map([['input', 7n]]) });
      expect((await readToEnd(kafka, output)).map((m) => m.value!.toString())).toEqual(['at least once']);
      expect(checkpoint.get(output)).toBe(1n);
      expect(committed).toEqual([{ topic: 'input', partition: 0, offset: 7n }]);
    } finally {
      await producer.close();
    }
  });

  test('a commit larger than one produce request writes every record, in order, and checkpoints each topic past its last', async () => {
    const [changelog, output] = [uniqueName('task-producer-big-changelog'), uniqueName('task-producer-big-out')];
    await createTopics(admin, [changelog, output], 1);
    const count = PRODUCE_LIMITS.records + 500;
    const records: OutputRecord[] = [
      ...Array.from({ length: count }, (_, i) => record(changelog, `state ${i}`)),
      { ...record(output, 'tombstone follows'), headers: { 'lp.order': '1/0_0/1' } },
      { ...record(output, ''), value: null },
    ];
    const producer = await connectTaskProducer({ guarantee: 'exactly_once', transactionalId: uniqueName('task'), groupId: uniqueName('task-group') });
    try {
      const checkpoint = await producer.commit({ records, partition: 0, offsets: new Map() });
      expect(checkpoint.get(changelog)).toBe(BigInt(count));
      expect(checkpoint.get(output)).toBe(2n);
      await stableThrough(changelog, BigInt(count));
      const written = await readToEnd(kafka, changelog);
      expect(written.map((m) => m.value!.toString())).toEqual(Array.from({ length: count }, (_, i) => `state ${i}`));
      const [withHeader, tombstone] = await readToEnd(kafka, output);
      expect(withHeader!.headers!['lp.order']!.toString()).toBe('1/0_0/1');
      expect(tombstone!.value).toBeNull();
    } finally {
      await producer.close();
    }
  });
});
