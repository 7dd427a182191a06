import type { Headers } from './processor';

/** Header values as Kafka clients hand them over. */
export type RawHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** A consumed record, still in bytes. */
export interface InputRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Kafka record timestamp, ms since the epoch, as kafkajs reports it. */
  timestamp: string;
  headers?: RawHeaders;
}

/** A record to produce, already serialised and with its partition chosen. */
export interface OutputRecord {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: number;
}

/** What a record weighs on the wire, near enough to hold it against the broker's limit. */
export function recordBytes(record: OutputRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const name in record.headers) bytes += Buffer.byteLength(name) + Buffer.byteLength(record.headers[name]!);
  return bytes;
}

export function textHeaders(raw: RawHeaders | undefined): Headers {
  const headers: Headers = {};
  if (!raw) return headers;
  for (const name of Object.keys(raw)) {
    const text = textHeader(raw, name);
    if (text !== undefined) headers[name] = text;
  }
  return headers;
}

/** One header as text (the last value when it was sent several times). */
export function textHeader(raw: RawHeaders | undefined, name: string): string | undefined {
  const value = raw?.[name];
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last?.toString();
}

/** Header names the dead-letter topics carry. */
export const DLQ_HEADERS = {
  kind: 'lp.error.kind',
  message: 'lp.error.message',
  processor: 'lp.error.processor',
  topic: 'lp.source.topic',
  partition: 'lp.source.partition',
  offset: 'lp.source.offset',
  failedAt: 'lp.failed.at',
} as const;

/**
 * The dead-letter copy of a record: the original key and value bytes and
 * headers, plus headers saying what went wrong and where the record was.
 */
export function deadLetter(
  record: InputRecord,
  topic: string,
  error: { kind: string; message: string; processor?: string },
): OutputRecord {
  const headers: Record<string, string> = { ...textHeaders(record.headers) };
  headers[DLQ_HEADERS.kind] = error.kind;
  headers[DLQ_HEADERS.message] = error.message.slice(0, 2000);
  if (error.processor) headers[DLQ_HEADERS.processor] = error.processor;
  headers[DLQ_HEADERS.topic] = record.topic;
  headers[DLQ_HEADERS.partition] = String(record.partition);
  headers[DLQ_HEADERS.offset] = record.offset;
  headers[DLQ_HEADERS.failedAt] = new Date().toISOString();
  return { topic, partition: 0, key: record.key, value: record.value, headers, timestamp: Number(record.timestamp) };
}
