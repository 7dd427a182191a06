import { recordBytes, type OutputRecord } from '../records';

/**
 * A commit's records go out in produce requests of at most this many
 * records and bytes. A client puts all of a request's records for one
 * partition into one record batch, and the broker refuses a batch over
 * `message.max.bytes` (1 MiB by default) with MESSAGE_TOO_LARGE: a commit of
 * 2,000 profile changelog records (~2 KB each) failed that way on every try.
 */
export const PRODUCE_LIMITS = { records: 2000, bytes: 512 * 1024 };

/** What a record adds to a produce request besides its key, value and headers, roughly. */
const RECORD_OVERHEAD_BYTES = 32;

/** Consecutive runs of the records, in order, each within the limits (a record over them alone). */
export function* produceChunks(records: readonly OutputRecord[], limits = PRODUCE_LIMITS): Generator<OutputRecord[]> {
  let chunk: OutputRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r) + RECORD_OVERHEAD_BYTES;
    if (chunk.length > 0 && (chunk.length === limits.records || bytes + size > limits.bytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** Where a produce request put the records of one partition. */
export interface ProducedBatch {
  topic: string;
  partition: number;
  baseOffset: bigint;
}

/**
 * Sends the records in chunks, one after the other; returns, per topic,
 * the offset after the last record written to it (a changelog's checkpoint).
 */
export async function sendInChunks(records: readonly OutputRecord[], send: (chunk: OutputRecord[]) => Promise<ProducedBatch[]>): Promise<Map<string, bigint>> {
  const ends = new Map<string, bigint>();
  for (const chunk of produceChunks(records)) {
    const counts = new Map<string, number>();
    for (const r of chunk) counts.set(`${r.topic}:${r.partition}`, (counts.get(`${r.topic}:${r.partition}`) ?? 0) + 1);
    for (const batch of await send(chunk)) {
      const count = counts.get(`${batch.topic}:${batch.partition}`);
      if (count !== undefined) ends.set(batch.topic, batch.baseOffset + BigInt(count));
    }
  }
  return ends;
}
