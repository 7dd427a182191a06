import Module from 'node:module';
import { encodeProduceRequestBody, type ProduceRequestBody } from './produce-request';

/**
 * Two kafkajs 2.2.4 modules, replaced before kafkajs loads them (kafkajs is
 * frozen), and its Produce request's encoder. This file must be imported
 * before anything imports kafkajs; `applied` says whether the module
 * replacements were in time.
 *
 * - groupMessagesPerPartition grouped a send's messages with
 *   `[...current, message]` per message: quadratic in the messages per
 *   partition (4 tasks sending 25k records at once took ~15 s; it was 12% of
 *   the engine's CPU even in 2k chunks). Replaced by a linear one.
 * - filterAbortedMessages drops the records of aborted transactions from a
 *   read_committed fetch, but walks the broker's list of aborted
 *   transactions as if sorted by first offset, and activates at most one per
 *   record. The broker does not sort it (seen: [1822, 1574, 1713]), so the
 *   records of an aborted transaction that starts before the list's first
 *   entry were handed over as committed: after a failed commit, the engine
 *   processed its own aborted outputs as input (the proof suite's
 *   duplicates and double-counted merges).
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

interface Long {
  gte(other: unknown): boolean;
  compare(other: Long): number;
}
const Long = require('kafkajs/src/utils/long') as { fromValue(value: unknown): Long };

interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  batchContext: { producerId: string | number; inTransaction: boolean };
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

export function filterAbortedMessages({ messages, abortedTransactions }: { messages: FetchedMessage[]; abortedTransactions?: { producerId: string | number; firstOffset: string }[] }): FetchedMessage[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => Long.fromValue(a.firstOffset).compare(Long.fromValue(b.firstOffset)));
  const aborting = new Set<string>();
  return messages.filter((message) => {
    const offset = Long.fromValue(message.offset);
    while (pending.length > 0 && offset.gte(pending[0]!.firstOffset)) aborting.add(String(pending.shift()!.producerId));
    const producer = String(message.batchContext.producerId);
    if (message.key !== null && Buffer.from(message.key).equals(ABORT_MARKER_KEY)) {
      // The transaction is over: later records of this producer count again.
      aborting.delete(producer);
      return true;
    }
    return !(aborting.has(producer) && message.batchContext.inTransaction);
  });
}

function replace(module: string, exports: unknown): void {
  const path = require.resolve(module);
  const replacement = new Module(path);
  replacement.filename = path;
  replacement.exports = exports;
  replacement.loaded = true;
  require.cache[path] = replacement;
}

const loaded = ['kafkajs/src/producer/sendMessages', 'kafkajs/src/consumer/batch'].some((m) => require.resolve(m) in require.cache);

export const applied = !loaded;

if (applied) {
  replace('kafkajs/src/producer/groupMessagesPerPartition', groupMessagesPerPartition);
  replace('kafkajs/src/consumer/filterAbortedMessages', filterAbortedMessages);
}

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
}
type ProduceProtocol = (options: { version: number | string }) => (body: ProduceRequestBody & { compression?: number }) => {
  request: { encode(): Promise<KafkajsEncoder> };
  response: unknown;
};

/**
 * Produce requests of version 3 and later (every broker since 0.11) without
 * compression are encoded by `encodeProduceRequestBody`. The broker looks a
 * request's definition up through this exported object at each call, so
 * changing its `protocol` reaches kafkajs whatever module registry loaded it
 * (a `require.cache` replacement does not reach jest's).
 */
function encodeProduceRequests(): void {
  const produce = require('kafkajs/src/protocol/requests/produce') as { protocol: ProduceProtocol; encodedByListeningPost?: true };
  const Encoder = require('kafkajs/src/protocol/encoder') as new (initialSize?: number) => KafkajsEncoder;
  if (produce.encodedByListeningPost) return;
  const original = produce.protocol;
  produce.protocol = ({ version }) => {
    const versionOf = original({ version });
    if (Number(version) < 3) return versionOf;
    return (body) => {
      const definition = versionOf(body);
      if (body.compression) return definition;
      const encode = async () => {
        const encoder = new Encoder(1);
        encoder.buf = encodeProduceRequestBody(body);
        encoder.offset = encoder.buf.length;
        return encoder;
      };
      return { ...definition, request: { ...definition.request, encode } };
    };
  };
  produce.encodedByListeningPost = true;
}

encodeProduceRequests();
