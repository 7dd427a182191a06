// kafkajs's Java-compatible murmur2, so our partition choice matches what any
// Kafka client would pick for the same key (and the test driver agrees).
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;

/** The partition Kafka's default partitioner picks for a key. */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
