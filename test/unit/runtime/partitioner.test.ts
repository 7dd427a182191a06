import { randomBytes } from 'node:crypto';
import { partitionForKey } from '../../../runtime/kafka/partitioner';

const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer) => number;

describe('partitioner', () => {
  it('picks the same partition as kafkajs (and the Java client) for any key', () => {
    for (let i = 0; i < 20_000; i++) {
      const key = randomBytes(i % 40);
      const partitions = 1 + (i % 64);
      expect(partitionForKey(key, partitions)).toBe((kafkajsMurmur2(key) & 0x7fffffff) % partitions);
    }
  });

  it('matches a known value of the Java client', () => {
    // org.apache.kafka.common.utils.Utils.murmur2("21".getBytes()) = -973932308
    expect(partitionForKey(Buffer.from('21'), 1000)).toBe((-973932308 & 0x7fffffff) % 1000);
  });
});
