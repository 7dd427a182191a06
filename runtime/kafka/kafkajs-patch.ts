import Module from 'node:module';

/**
 * kafkajs 2.2.4 groups a send's messages by partition with
 * `[...current, message]` per message: quadratic in the messages per
 * partition (4 tasks sending 25k records at once took ~15 s; it was 12% of
 * the engine's CPU even in 2k chunks). kafkajs is frozen, so its module is
 * replaced here by a linear one with the same contract, before kafkajs's
 * producer loads it. This file must be imported before anything imports
 * kafkajs; `applied` says whether it was in time.
 */
type Message = { partition?: number | null };
type Partitioner = (args: { topic: string; partitionMetadata: unknown[]; message: Message }) => number;

export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: { topic: string; partitionMetadata: unknown[]; messages: Message[]; partitioner: Partitioner }) {
  const result: Record<number, Message[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
const producerLoaded = require.resolve('kafkajs/src/producer/sendMessages') in require.cache;

export const applied = !producerLoaded;

if (applied) {
  const replacement = new Module(path);
  replacement.filename = path;
  replacement.exports = groupMessagesPerPartition;
  replacement.loaded = true;
  require.cache[path] = replacement;
}
