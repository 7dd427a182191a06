/**
 * Turns values into bytes and back for one topic. `deserialize` is
 * synchronous so a batch decodes without an await per record; serdes that
 * need remote lookups (Avro with a registry) do them once per batch in
 * `prepare`, before any record of the batch is decoded.
 */
export interface Serde<T> {
  readonly name: string;
  serialize(topic: string, value: T): Buffer;
  deserialize(topic: string, data: Buffer): T;
  /** Fetch whatever `deserialize` will need for these payloads (e.g. writer schemas). */
  prepare?(topic: string, payloads: readonly (Buffer | null)[]): Promise<void>;
  /** Resolve what `serialize` needs (e.g. the registered schema id); called once at start-up. */
  init?(topic: string): Promise<void>;
}

export const stringSerde: Serde<string> = {
  name: 'string',
  serialize: (_topic, value) => Buffer.from(value, 'utf8'),
  deserialize: (_topic, data) => data.toString('utf8'),
};

export const bufferSerde: Serde<Buffer> = {
  name: 'bytes',
  serialize: (_topic, value) => value,
  deserialize: (_topic, data) => data,
};

/** JSON for internal topics and stores: readable in a console consumer, no registry needed. */
export function jsonSerde<T>(): Serde<T> {
  return {
    name: 'json',
    serialize: (_topic, value) => Buffer.from(JSON.stringify(value), 'utf8'),
    deserialize: (_topic, data) => JSON.parse(data.toString('utf8')) as T,
  };
}

/** A serde for T built on one for W, e.g. a domain type over its Avro wire form. */
export function mapSerde<T, W>(inner: Serde<W>, toWire: (value: T) => W, fromWire: (wire: W) => T): Serde<T> {
  return {
    name: inner.name,
    serialize: (topic, value) => inner.serialize(topic, toWire(value)),
    deserialize: (topic, data) => fromWire(inner.deserialize(topic, data)),
    prepare: inner.prepare?.bind(inner),
    init: inner.init?.bind(inner),
  };
}
