import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { filterAbortedMessages, groupMessagesPerPartition } from '../../../runtime/kafka/kafkajs-patch';

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

  it('is what kafkajs loads when the client comes from runtime/kafka/client (checked in a plain Node process: jest has its own module registry)', () => {
    const script = `
      const client = require('./runtime/kafka/client');
      const patch = require('./runtime/kafka/kafkajs-patch');
      const loaded = require('kafkajs/src/producer/groupMessagesPerPartition');
      const filter = require('kafkajs/src/consumer/filterAbortedMessages');
      process.stdout.write(JSON.stringify({ applied: patch.applied, same: loaded === patch.groupMessagesPerPartition && filter === patch.filterAbortedMessages, kafka: typeof client.Kafka }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ applied: true, same: true, kafka: 'function' });
  });
});
