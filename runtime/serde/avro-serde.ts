import * as avro from 'avsc';
import { DeserializationError, SchemaError } from '../errors';
import { SchemaRegistryClient } from './registry';
import { encodeAfter } from './avro-encode';
import { Serde } from './serde';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/**
 * Avro in the Confluent wire format (magic byte, 4-byte schema id, Avro
 * binary), with the registry's TopicNameStrategy subject `<topic>-value`.
 * Records written with an older or newer compatible schema are resolved to
 * this reader schema. Writer schemas are fetched once per id, in `prepare`,
 * so decoding a batch never waits on the network per record.
 */
export class AvroSerde<T> implements Serde<T> {
  readonly name: string;
  private readonly headers = new Map<string, Buffer>();
  private readonly resolvers = new Map<number, avro.Resolver | null>();
  private readonly unknownIds = new Map<number, DeserializationError>();

  constructor(
    private readonly registry: SchemaRegistryClient,
    private readonly type: avro.Type,
  ) {
    this.name = `avro:${type.name}`;
  }

  async init(topic: string): Promise<void> {
    if (this.headers.has(topic)) return;
    const id = await this.registry.register(`${topic}-value`, JSON.stringify(this.type.schema({ exportAttrs: true })));
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(MAGIC_BYTE, 0);
    header.writeInt32BE(id, 1);
    this.headers.set(topic, header);
    this.resolvers.set(id, null);
  }

  serialize(topic: string, value: T): Buffer {
    const header = this.headers.get(topic);
    if (!header) throw new SchemaError(`${this.name}: no schema registered for topic ${topic} (init was not called)`);
    try {
      return encodeAfter(header, this.type, value);
    } catch {
      throw new DeserializationError('invalid-record', `${this.name}: value does not match the schema: ${this.explain(value)}`);
    }
  }

  async prepare(_topic: string, payloads: readonly (Buffer | null)[]): Promise<void> {
    for (const data of payloads) {
      if (!data || data.length < HEADER_BYTES || data[0] !== MAGIC_BYTE) continue;
      const id = data.readInt32BE(1);
      if (this.resolvers.has(id) || this.unknownIds.has(id)) continue;
      // An unavailable registry throws on (UnavailableError): the caller waits and tries the batch again.
      let writer: avro.Type;
      try {
        writer = await this.registry.schemaById(id);
      } catch (error) {
        if (!(error instanceof DeserializationError)) throw error;
        this.unknownIds.set(id, error);
        continue;
      }
      try {
        this.resolvers.set(id, writer.equals(this.type) ? null : this.type.createResolver(writer));
      } catch (error) {
        // Any failure to resolve (incompatible types, "no alias found" for a record of another
        // schema) is the writer's: every record with this id goes to the dead-letter topic.
        this.unknownIds.set(id, new DeserializationError('unknown-schema', `${this.name}: writer schema ${id} (${writer.name ?? writer.typeName}) cannot be read as ${this.type.name}: ${(error as Error).message}`));
      }
    }
  }

  deserialize(_topic: string, data: Buffer): T {
    if (data.length < HEADER_BYTES || data[0] !== MAGIC_BYTE) {
      throw new DeserializationError('not-avro-wire-format', `${this.name}: expected the Confluent wire format (magic byte 0 + schema id), got ${data.length} bytes starting 0x${data.subarray(0, 4).toString('hex')}`);
    }
    const id = data.readInt32BE(1);
    const unknown = this.unknownIds.get(id);
    if (unknown) throw unknown;
    const resolver = this.resolvers.get(id);
    if (resolver === undefined) throw new DeserializationError('unknown-schema', `${this.name}: schema id ${id} was not prepared`);
    try {
      return this.type.fromBuffer(data.subarray(HEADER_BYTES), resolver ?? undefined) as T;
    } catch (error) {
      throw new DeserializationError('malformed-record', `${this.name}: bytes do not decode with schema ${id}: ${(error as Error).message}`);
    }
  }

  private explain(value: unknown): string {
    const problems: string[] = [];
    this.type.isValid(value, {
      errorHook: (path, any, type) => problems.push(`${path.join('.') || '(root)'} = ${JSON.stringify(any)} is not ${String(type)}`),
    });
    return problems.slice(0, 3).join('; ') || 'invalid value';
  }
}
