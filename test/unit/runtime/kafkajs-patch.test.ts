import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { filterAbortedMessages, groupMessagesPerPartition } from '../../../runtime/kafka/kafkajs/patch';
import { fetchedRecords } from '../../../runtime/kafka/kafkajs/partition-reader';

const ROOT = join(__dirname, '..', '..', '..');

describe('kafkajs patch', () => {
  it('groups messages by partition like the original, in order', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ partition: i % 4, value: `v${i}` }));
    const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata: [{}, {}, {}, {}], messages, partitioner: ({ message }) => message.partition! });
    expect(grouped).toEqual({ 0: [messages[0], messages[4], messages[8]], 1: [messages[1], messages[5], messages[9]], 2: [messages[2], messages[6]], 3: [messages[3], messages[7]] });
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual({});
  });

  it('drops every aborted transaction of a fetch, whatever the order of the broker\'s list (kafkajs assumed it sorted)', () => {
    const record = (offset: number, producerId: string, inTransaction = true, key: Buffer | null = null) => ({ offset: String(offset), key, batchContext: { producerId, inTransaction } });
    const abort = Buffer.from([0, 0, 0, 0]);
    const commit = Buffer.from([0, 0, 0, 1]);
    const messages = [
      record(5, 'b'), record(6, 'b'), record(7, 'b', true, abort),
      record(8, 'c'), record(9, 'c', true, commit),
      record(10, 'a'), record(11, 'a'), record(12, 'c'), record(13, 'a', true, abort),
      record(14, 'a'), record(15, 'a', true, commit), record(16, 'd', false),
    ];
    // As the broker sent it in the proof suite's run: not sorted by first offset.
    const abortedTransactions = [{ producerId: 'a', firstOffset: '10' }, { producerId: 'b', firstOffset: '5' }];
    const kept = filterAbortedMessages({ messages, abortedTransactions }).map((m) => Number(m.offset));
    expect(kept).toEqual([7, 8, 9, 12, 13, 14, 15, 16]);
    expect(filterAbortedMessages({ messages, abortedTransactions: [] })).toBe(messages);
  });

  it('is what kafkajs loads when the client comes from runtime/kafka/kafkajs/client (checked in a plain Node process: jest has its own module registry)', () => {
    const script = `
      const client = require('./runtime/kafka/kafkajs/client');
      const patch = require('./runtime/kafka/kafkajs/patch');
      const loaded = require('kafkajs/src/producer/groupMessagesPerPartition');
      const filter = require('kafkajs/src/consumer/filterAbortedMessages');
      process.stdout.write(JSON.stringify({ applied: patch.applied, same: loaded === patch.groupMessagesPerPartition && filter === patch.filterAbortedMessages, kafka: typeof client.Kafka }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ applied: true, same: true, kafka: 'function' });
  });
});

describe('PartitionReader: committed records of a fetch', () => {
  it('drops aborted transactions with the patched filter even where the patch cannot reach kafkajs (jest)', () => {
    const record = (offset: number, producerId: string, control?: 'abort' | 'commit') => ({
      offset: String(offset),
      key: control === undefined ? Buffer.from(`k${offset}`) : Buffer.from([0, 0, 0, control === 'abort' ? 0 : 1]),
      value: control === undefined ? Buffer.from(`v${offset}`) : null,
      timestamp: '0',
      headers: {},
      isControlRecord: control !== undefined,
      batchContext: { producerId, inTransaction: true },
    });
    const messages = [record(5, 'b'), record(6, 'b', 'abort'), record(7, 'c'), record(8, 'c', 'commit'), record(10, 'a'), record(11, 'a', 'abort'), record(12, 'c')];
    // kafkajs's own filter (which jest loads) assumes this list sorted and would keep offset 5
    const abortedTransactions = [{ producerId: 'a', firstOffset: '10' }, { producerId: 'b', firstOffset: '5' }];
    const { records } = fetchedRecords('t', 5n, { partition: 0, highWatermark: '13', abortedTransactions, messages } as Parameters<typeof fetchedRecords>[2]);
    expect(records.map((r) => r.offset)).toEqual(['7', '12']);
  });
});

it('is what kafkajs uses under jest too, so engines run inside a test read like production (jest.config.js maps it)', () => {
  const Batch = require('kafkajs/src/consumer/batch') as new (topic: string, offset: string, data: unknown) => { messages: { offset: string }[] };
  const message = (offset: number, producerId: string, abort = false) => ({
    offset: String(offset),
    key: abort ? Buffer.from([0, 0, 0, 0]) : Buffer.from('k'),
    value: abort ? null : Buffer.from('v'),
    isControlRecord: abort,
    batchContext: { producerId, inTransaction: true },
  });
  const messages = [message(5, 'b'), message(6, 'b', true), message(7, 'c'), message(10, 'a'), message(11, 'a', true), message(12, 'c')];
  const batch = new Batch('t', '5', { partition: 0, highWatermark: '13', abortedTransactions: [{ producerId: 'a', firstOffset: '10' }, { producerId: 'b', firstOffset: '5' }], messages });
  expect(batch.messages.map((m) => m.offset)).toEqual(['7', '12']);
  expect(require('kafkajs/src/producer/groupMessagesPerPartition')).toBe(groupMessagesPerPartition);
});
