import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { groupMessagesPerPartition } from '../../../runtime/kafka/kafkajs-patch';

const ROOT = join(__dirname, '..', '..', '..');

describe('kafkajs patch', () => {
  it('groups messages by partition like the original, in order', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ partition: i % 4, value: `v${i}` }));
    const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata: [{}, {}, {}, {}], messages, partitioner: ({ message }) => message.partition! });
    expect(grouped).toEqual({ 0: [messages[0], messages[4], messages[8]], 1: [messages[1], messages[5], messages[9]], 2: [messages[2], messages[6]], 3: [messages[3], messages[7]] });
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual({});
  });

  it('is what kafkajs loads when the client comes from runtime/kafka/client (checked in a plain Node process: jest has its own module registry)', () => {
    const script = `
      const client = require('./runtime/kafka/client');
      const patch = require('./runtime/kafka/kafkajs-patch');
      const loaded = require('kafkajs/src/producer/groupMessagesPerPartition');
      process.stdout.write(JSON.stringify({ applied: patch.applied, same: loaded === patch.groupMessagesPerPartition, kafka: typeof client.Kafka }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ applied: true, same: true, kafka: 'function' });
  });
});
